"""The async-ops suite on Tornado: native coroutines; the upstream through
AsyncHTTPClient, the fan-out's ten fetches at once with tornado.gen.multi;
IOLoop.run_in_executor for the file read (threads) and the CPU work
(processes). The client is Tornado's curl client (CurlAsyncHTTPClient, on
pycurl), which keeps connections alive and reuses them, as Tornado's docs
recommend for production; the simple client opens a connection per call.
It is configured for 100 calls at once: the default of 10 would queue a
fan-out's calls behind one another."""

import time
from concurrent.futures import ThreadPoolExecutor

from tornado import gen
from tornado.httpclient import AsyncHTTPClient
from tornado.ioloop import IOLoop

from catbench_shared import async_work as work
from catbench_shared import logging_sink, runtime
from handlers import ContractHandler


async def call_upstream(url: str) -> int:
    answer = await AsyncHTTPClient().fetch(url)
    return work.upstream_n(answer.body)


class AsyncIOHandler(ContractHandler):
    async def get(self):
        start = time.perf_counter()
        await work.simulated_io()
        self.finish(work.io_document(logging_sink.micros_since(start)))


class AsyncFanoutHandler(ContractHandler):
    async def get(self):
        base = self.settings["upstream_url"]
        targets = work.fanout_targets(self.get_query_argument("group", None))
        results = await gen.multi([call_upstream(base + target) for target in targets])
        self.finish(work.fanout_document(list(results)))


class AsyncUpstreamHandler(ContractHandler):
    async def get(self):
        n = work.parse_upstream_n(self.get_query_argument("n", None))
        url = self.settings["upstream_url"] + work.upstream_target(n)
        self.finish(work.upstream_document(await call_upstream(url)))


class AsyncFileHandler(ContractHandler):
    async def get(self):
        # Tornado has no async file API; blocking calls go to an executor.
        pool, fixture = self.settings["file_pool"], self.settings["fixture"]
        self.finish(await IOLoop.current().run_in_executor(pool, work.read_fixture, fixture))


class AsyncCPUHandler(ContractHandler):
    async def get(self):
        seed = work.parse_seed(self.get_query_argument("seed", None))
        result = await IOLoop.current().run_in_executor(self.settings["cpu_pool"], work.cpu, seed)
        self.finish(work.cpu_document(seed, result))


class AsyncSyncHandler(ContractHandler):
    def get(self):
        self.finish(work.SYNC_DOCUMENT)


routes = [
    (r"/async/io", AsyncIOHandler),
    (r"/async/fanout", AsyncFanoutHandler),
    (r"/async/upstream", AsyncUpstreamHandler),
    (r"/async/file", AsyncFileHandler),
    (r"/async/cpu", AsyncCPUHandler),
    (r"/async/sync", AsyncSyncHandler),
]


def settings():
    """Made in each worker process before its loop starts: the CPU pool forks
    from a process without threads."""
    AsyncHTTPClient.configure("tornado.curl_httpclient.CurlAsyncHTTPClient", max_clients=100)
    return {"upstream_url": work.upstream_base_url(), "fixture": work.write_fixture(),
            "file_pool": ThreadPoolExecutor(max_workers=runtime.pool_threads()), "cpu_pool": work.start_cpu_pool()}
