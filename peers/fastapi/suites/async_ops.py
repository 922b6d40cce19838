"""The async-ops suite on FastAPI: async endpoints; the upstream through one
aiohttp ClientSession (pooled keep-alive connections), the fan-out's ten calls
at once with asyncio.gather; blocking file reads in Starlette's thread pool,
CPU work in a process pool; a plain `def` endpoint runs in the thread pool as
FastAPI runs any. The router's lifespan makes and closes what the suite needs;
FastAPI passes its state to every request as `request.state`."""

import asyncio
import time
from contextlib import asynccontextmanager

import aiohttp
from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from catbench_shared import async_work as work
from catbench_shared import logging_sink


@asynccontextmanager
async def lifespan(app: FastAPI):
    fixture = work.write_fixture()
    # Fork the pool's processes first, while the server has no threads yet.
    cpu_pool = work.start_cpu_pool()
    async with aiohttp.ClientSession(work.upstream_base_url()) as upstream:
        yield {"fixture": fixture, "cpu_pool": cpu_pool, "upstream": upstream}
    cpu_pool.shutdown()


router = APIRouter(lifespan=lifespan)


class IOAnswer(BaseModel):
    io: str
    waited_us: int


class FanoutAnswer(BaseModel):
    calls: int
    results: list[int]


class UpstreamValue(BaseModel):
    n: int


class UpstreamAnswer(BaseModel):
    upstream: UpstreamValue


class FileAnswer(BaseModel):
    bytes: int
    sha256: str


class CPUAnswer(BaseModel):
    seed: str
    result: str


async def call_upstream(session: aiohttp.ClientSession, target: str) -> int:
    async with session.get(target) as response:
        return work.upstream_n(await response.read())


@router.get("/async/io", response_model=IOAnswer)
async def async_io():
    started = time.perf_counter()
    await work.simulated_io()
    return work.io_document(logging_sink.micros_since(started))


@router.get("/async/fanout", response_model=FanoutAnswer)
async def async_fanout(request: Request, group: str = ""):
    session = request.state.upstream
    results = await asyncio.gather(*(call_upstream(session, target) for target in work.fanout_targets(group)))
    return work.fanout_document(list(results))


@router.get("/async/upstream", response_model=UpstreamAnswer)
async def async_upstream(request: Request, n: str | None = None):
    target = work.upstream_target(work.parse_upstream_n(n))
    return work.upstream_document(await call_upstream(request.state.upstream, target))


@router.get("/async/file", response_model=FileAnswer)
async def async_file(request: Request):
    # A blocking read goes to Starlette's thread pool, as FastAPI does for `def` code.
    return await run_in_threadpool(work.read_fixture, request.state.fixture)


@router.get("/async/cpu", response_model=CPUAnswer)
async def async_cpu(request: Request, seed: str | None = None):
    value = work.parse_seed(seed)
    result = await asyncio.get_running_loop().run_in_executor(request.state.cpu_pool, work.cpu, value)
    return work.cpu_document(value, result)


# No response model here: FastAPI validates a `def` endpoint's answer in its
# thread pool too, a second hop per request that costs far more than the
# encoding it replaces; without a model the dict is encoded on the loop.
@router.get("/async/sync")
def async_sync():
    # A plain `def` endpoint: FastAPI runs it in its thread pool.
    return work.SYNC_DOCUMENT
