"""The async-ops suite on Flask under gunicorn's sync workers. /async/io is an
`async def` view, which Flask runs on an event loop of its own per request
(asgiref); the upstream call is a blocking http.client call on a kept-alive
connection; the fan-out's ten calls go at once to a pool of ten threads, each
with its own kept-alive connection, while the worker waits; CPU work goes to
a thread pool while the worker waits, as the threaded stack's runAndWait."""

import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, request

from catbench_shared import async_work as work
from catbench_shared import logging_sink, runtime

blueprint = Blueprint("async_ops", __name__)

FIXTURE = work.write_fixture()
upstream = work.BlockingUpstream()
fanout = work.BlockingFanout()
cpu_pool = ThreadPoolExecutor(max_workers=runtime.pool_threads())


@blueprint.get("/async/io")
async def async_io():
    started = time.perf_counter()
    await work.simulated_io()
    return work.io_document(logging_sink.micros_since(started))


@blueprint.get("/async/fanout")
def async_fanout():
    return work.fanout_document(fanout.run(request.args.get("group")))


@blueprint.get("/async/upstream")
def async_upstream():
    n = work.parse_upstream_n(request.args.get("n"))
    return work.upstream_document(upstream.get(work.upstream_target(n)))


@blueprint.get("/async/file")
def async_file():
    return work.read_fixture(FIXTURE)


@blueprint.get("/async/cpu")
def async_cpu():
    seed = work.parse_seed(request.args.get("seed"))
    return work.cpu_document(seed, cpu_pool.submit(work.cpu, seed).result())


@blueprint.get("/async/sync")
def async_sync():
    return work.SYNC_DOCUMENT
