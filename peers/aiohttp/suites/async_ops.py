"""The async-ops suite on aiohttp: native coroutines on the worker's uvloop;
one ClientSession per worker for the upstream (its connector keeps
connections alive and reuses them), the fan-out's ten calls at once with
asyncio.gather; the file read on the loop's thread pool, CPU work on a
process pool. A clean-up context makes and closes what the suite needs."""

import asyncio
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from aiohttp import ClientSession, web

from catbench_shared import async_work as work
from catbench_shared import logging_sink, runtime

UPSTREAM = web.AppKey("upstream", ClientSession)
CPU_POOL = web.AppKey("cpu_pool", ProcessPoolExecutor)
FIXTURE = web.AppKey("fixture", str)

routes = web.RouteTableDef()


async def call_upstream(session: ClientSession, target: str) -> int:
    async with session.get(target) as answer:
        return work.upstream_n(await answer.read())


@routes.get("/async/io")
async def async_io(request):
    start = time.perf_counter()
    await work.simulated_io()
    return web.json_response(work.io_document(logging_sink.micros_since(start)))


@routes.get("/async/fanout")
async def async_fanout(request):
    session = request.app[UPSTREAM]
    targets = work.fanout_targets(request.query.get("group"))
    results = await asyncio.gather(*(call_upstream(session, target) for target in targets))
    return web.json_response(work.fanout_document(list(results)))


@routes.get("/async/upstream")
async def async_upstream(request):
    target = work.upstream_target(work.parse_upstream_n(request.query.get("n")))
    return web.json_response(work.upstream_document(await call_upstream(request.app[UPSTREAM], target)))


@routes.get("/async/file")
async def async_file(request):
    # aiohttp has no async file API; its docs send blocking calls to an executor.
    loop = asyncio.get_running_loop()
    return web.json_response(await loop.run_in_executor(None, work.read_fixture, request.app[FIXTURE]))


@routes.get("/async/cpu")
async def async_cpu(request):
    seed = work.parse_seed(request.query.get("seed"))
    result = await asyncio.get_running_loop().run_in_executor(request.app[CPU_POOL], work.cpu, seed)
    return web.json_response(work.cpu_document(seed, result))


@routes.get("/async/sync")
def async_sync(request):
    # A plain function: aiohttp still accepts it (deprecated) and calls it on the loop.
    return web.json_response(work.SYNC_DOCUMENT)


async def resources(app):
    """cleanup_ctx: the worker's upstream session and CPU pool, closed at shutdown,
    and its loop's thread pool (the file read), as large as every peer's."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=runtime.pool_threads()))
    app[UPSTREAM] = ClientSession(work.upstream_base_url())
    app[CPU_POOL] = work.start_cpu_pool()
    yield
    await app[UPSTREAM].close()
    app[CPU_POOL].shutdown()


def setup(app):
    app[FIXTURE] = work.write_fixture()
    app.cleanup_ctx.append(resources)
