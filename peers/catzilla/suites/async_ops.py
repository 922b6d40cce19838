"""The async-ops suite on Catzilla. Async handlers run on Catzilla's asyncio
bridge loop; sync handlers on the server's thread. Catzilla has no HTTP
client: the upstream is called with aiohttp's ClientSession (pooled
keep-alive connections), made on the bridge loop at the first call, and the
fan-out's ten calls go at once with asyncio.gather. The file read goes to the
loop's thread pool, the CPU work to a process pool started by a fork server:
Catzilla's C extension has threads running by the time this module loads, and
a fork from a process with threads is not safe."""

import asyncio
import time

from aiohttp import ClientSession
from catzilla import JSONResponse, RouterGroup

from catbench_shared import async_work as work
from catbench_shared import logging_sink, runtime

group = RouterGroup()

FIXTURE = work.write_fixture()
# Catzilla serves from one process: its pool is the whole server's.
CPU_POOL = work.start_cpu_pool(runtime.server_pool_size(), start_method="forkserver")
_upstream = []


def upstream_session() -> ClientSession:
    if not _upstream:
        _upstream.append(ClientSession(work.upstream_base_url()))
    return _upstream[0]


async def call_upstream(target: str) -> int:
    async with upstream_session().get(target) as answer:
        return work.upstream_n(await answer.read())


@group.get("/async/io")
async def async_io(request):
    start = time.perf_counter()
    await work.simulated_io()
    return JSONResponse(work.io_document(logging_sink.micros_since(start)))


@group.get("/async/fanout")
async def async_fanout(request):
    targets = work.fanout_targets(request.query_params.get("group"))
    results = await asyncio.gather(*(call_upstream(target) for target in targets))
    return JSONResponse(work.fanout_document(list(results)))


@group.get("/async/upstream")
async def async_upstream(request):
    n = work.parse_upstream_n(request.query_params.get("n"))
    return JSONResponse(work.upstream_document(await call_upstream(work.upstream_target(n))))


@group.get("/async/file")
async def async_file(request):
    return JSONResponse(await asyncio.get_running_loop().run_in_executor(None, work.read_fixture, FIXTURE))


@group.get("/async/cpu")
async def async_cpu(request):
    seed = work.parse_seed(request.query_params.get("seed"))
    result = await asyncio.get_running_loop().run_in_executor(CPU_POOL, work.cpu, seed)
    return JSONResponse(work.cpu_document(seed, result))


@group.get("/async/sync")
def async_sync(request):
    return JSONResponse(work.SYNC_DOCUMENT)
