"""The catbench contract on Tornado: its own HTTPServer and IOLoop (on asyncio),
RequestHandler classes, native coroutines; one process per worker
(fork_processes).

Mechanisms: Tornado has no middleware system, so each layer is a RequestHandler
mixin overriding prepare() (request work, may answer early), finish() (headers
on the answer) or on_finish() (after the answer), chained by cooperative
super() calls — a handler's bases are its layers, outermost first. DI: Tornado
has no container either; singletons live in the Application's settings, and
request-scoped objects on the handler, which Tornado makes anew for every
request (released in on_finish). Validation: common.py's dictionary schema.
Async: native coroutines, AsyncHTTPClient for the upstream, IOLoop.run_in_executor
for the file read (threads) and the CPU work (processes).
"""

import asyncio
import functools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import tornado.web
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.process import fork_processes

import common


class ContractHandler(tornado.web.RequestHandler):
    """The base of every handler: JSON answers."""

    def compute_etag(self):
        # No ETag: Tornado would otherwise hash every 200 body to answer
        # If-None-Match, which no client of the contract sends.
        return None

    def answer(self, document, status=200):
        self.set_status(status)
        self.finish(document)

    def refuse(self, status, message, headers=()):
        for name, value in headers:
            self.set_header(name, value)
        self.answer(common.error_document(message), status)


# --- basic suite -------------------------------------------------------------


class PlaintextHandler(ContractHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.finish(common.PLAINTEXT_BODY)


class JSONHandler(ContractHandler):
    def get(self):
        self.finish({"message": common.JSON_MESSAGE})


class UserHandler(ContractHandler):
    def get(self, raw_id):
        # The route admits only integer text; one beyond int64 is not a user either.
        user_id = common.parse_int64(raw_id)
        if user_id is None:
            raise tornado.web.HTTPError(404)
        self.finish(common.user_document(user_id))


class SearchHandler(ContractHandler):
    def get(self):
        limit = common.search_limit(self.get_query_argument("limit", None))
        self.finish(common.search_document(self.get_query_argument("q", ""), limit))


BASIC_ROUTES = [
    (r"/plaintext", PlaintextHandler),
    (r"/json", JSONHandler),
    (r"/users/([+-]?[0-9]+)", UserHandler),
    (r"/search", SearchHandler),
]


# --- middleware suite ----------------------------------------------------------
# One mixin per layer (common.LAYER_NAMES). A layer's prepare() marks it entered
# and calls the next layer's; to answer early it finishes instead. Its finish()
# and on_finish() act only when it was entered, so an early answer passes
# through the outer layers alone.


class RequestIDLayer:
    async def prepare(self):
        self.entered.add(RequestIDLayer)
        self.request_id = self.request.headers.get("X-Request-Id") or common.next_request_id()
        await super().prepare()

    def finish(self, chunk=None):
        if RequestIDLayer in self.entered:
            self.set_header("X-Request-Id", self.request_id)
        return super().finish(chunk)


class LoggingLayer:
    async def prepare(self):
        self.entered.add(LoggingLayer)
        await super().prepare()

    def on_finish(self):
        if LoggingLayer in self.entered:
            micros = int(self.request.request_time() * 1_000_000)
            record = common.LogRecord(self.request.method, self.request.path, self.get_status(), micros)
            self.settings["log_sink"].append(record)
        super().on_finish()


class SecurityLayer:
    async def prepare(self):
        self.entered.add(SecurityLayer)
        await super().prepare()

    def finish(self, chunk=None):
        if SecurityLayer in self.entered:
            for name, value in common.SECURITY_HEADERS:
                self.set_header(name, value)
        return super().finish(chunk)


class CORSLayer:
    async def prepare(self):
        self.entered.add(CORSLayer)
        headers = self.request.headers
        if common.is_cors_preflight(self.request.method, headers.get("Origin"),
                                    headers.get("Access-Control-Request-Method")):
            for name, value in common.CORS_PREFLIGHT_HEADERS:
                self.set_header(name, value)
            self.set_status(204)
            self.finish()
            return
        await super().prepare()

    def finish(self, chunk=None):
        if CORSLayer in self.entered and self.request.headers.get("Origin") == common.ALLOWED_ORIGIN:
            self.set_header("Access-Control-Allow-Origin", common.ALLOWED_ORIGIN)
            self.add_header("Vary", "Origin")
        return super().finish(chunk)


class AuthLayer:
    async def prepare(self):
        self.entered.add(AuthLayer)
        try:
            self.user = common.verify_jwt(self.request.headers.get("Authorization")).subject
        except common.JWTRejected as rejection:
            self.refuse(401, rejection.reason, [("WWW-Authenticate", common.WWW_AUTHENTICATE)])
            return
        await super().prepare()


class RateLimitLayer:
    async def prepare(self):
        self.entered.add(RateLimitLayer)
        key = common.client_key(self.request.headers.get("X-Client-Key"), self.user)
        decision = self.settings["rate_limiter"].take(key)
        if not decision.allowed:
            self.refuse(429, common.RATE_LIMITED, [("Retry-After", str(decision.retry_after))])
            return
        await super().prepare()


class AsyncContextLayer:
    async def prepare(self):
        self.entered.add(AsyncContextLayer)
        self.context = await common.resolve_context()
        await super().prepare()


class TimingLayer:
    async def prepare(self):
        self.entered.add(TimingLayer)
        await super().prepare()

    def finish(self, chunk=None):
        if TimingLayer in self.entered:
            self.add_header("Server-Timing", f"app;dur={self.request.request_time() * 1000}")
        return super().finish(chunk)


class CacheControlLayer:
    async def prepare(self):
        self.entered.add(CacheControlLayer)
        await super().prepare()

    def finish(self, chunk=None):
        if CacheControlLayer in self.entered:
            self.set_header("Cache-Control", "no-store")
        return super().finish(chunk)


class AcceptGuardLayer:
    async def prepare(self):
        self.entered.add(AcceptGuardLayer)
        if not common.accepts_json(self.request.headers.get("Accept")):
            self.refuse(406, common.NOT_ACCEPTABLE)
            return
        await super().prepare()


class HelloHandler(ContractHandler):
    """GET and OPTIONS /mw{level}/hello; the subclasses below put the layers in front."""
    level = 0
    user = request_id = context = None  # set by the layers that find them

    def initialize(self):
        self.entered = set()  # the layers this request went through

    async def prepare(self):
        pass  # the end of the layers' prepare() chain

    def get(self):
        self.finish(common.hello_document(self.level, self.user, self.request_id, self.context))

    def options(self):
        # Reached when no CORS layer answered a preflight: list the methods.
        self.set_header("Allow", common.CORS_METHODS)
        self.set_status(204)
        self.finish()


class Hello0(HelloHandler):
    level = 0


class Hello1(RequestIDLayer, HelloHandler):
    level = 1


class Hello5(RequestIDLayer, LoggingLayer, SecurityLayer, CORSLayer, AuthLayer, HelloHandler):
    level = 5


class Hello10(RequestIDLayer, LoggingLayer, SecurityLayer, CORSLayer, AuthLayer, RateLimitLayer,
              AsyncContextLayer, TimingLayer, CacheControlLayer, AcceptGuardLayer, HelloHandler):
    level = 10


class StatsHandler(ContractHandler):
    def get(self):
        self.finish({"logged": self.settings["log_sink"].total})


MIDDLEWARE_ROUTES = [
    (r"/mw0/hello", Hello0),
    (r"/mw1/hello", Hello1),
    (r"/mw5/hello", Hello5),
    (r"/mw10/hello", Hello10),
    (r"/mw/stats", StatsHandler),
]


def middleware_settings():
    return {"log_sink": common.LogSink(), "rate_limiter": common.RateLimiter()}


# --- DI suite -------------------------------------------------------------------
# Singletons are made once, into the Application's settings; request-scoped
# objects are made on first use and kept on the handler (one per request);
# transients are made at every call.


def request_scoped(make):
    """A provider made once per request and kept in the handler's scope."""
    name = make.__name__

    @functools.wraps(make)
    async def provide(self):
        if name not in self.scope:
            self.scope[name] = await make(self)
        return self.scope[name]

    return provide


class DIHandler(ContractHandler):
    def initialize(self):
        super().initialize()
        self.scope = {}
        self.services = self.settings["services"]

    def on_finish(self):
        # The end of the request scope: the pooled connection goes back.
        connection = self.scope.get("db_connection")
        if connection is not None:
            connection.release()

    @request_scoped
    async def request_context(self):
        return common.RequestContext()

    @request_scoped
    async def db_connection(self):
        return await self.services["pool"].acquire()

    @request_scoped
    async def logger(self):
        return common.Logger(await self.request_context(), self.services["config"])

    @request_scoped
    async def user_repository(self):
        return common.UserRepository(await self.db_connection(), await self.logger())

    @request_scoped
    async def token_provider(self):
        return await common.make_token_provider(self.services["config"])

    @request_scoped
    async def user_service(self):
        return common.UserService(await self.user_repository(), self.services["cache"], self.services["clock"],
                                  await self.token_provider())

    async def audit_event(self):
        return common.AuditEvent(await self.logger(), self.services["clock"])

    async def notifier(self):
        return common.Notifier(await self.user_service(), await self.audit_event())


class DIOneHandler(DIHandler):
    async def get(self):
        self.finish({"request_context": (await self.request_context()).id})


class DITenHandler(DIHandler):
    async def get(self):
        s = self.services
        self.finish(common.ten_document(
            s["config"], s["clock"], s["cache"], await self.request_context(), await self.db_connection(),
            await self.logger(), await self.user_repository(), await self.token_provider(),
            await self.user_service(), await self.audit_event()))


class DIGraphHandler(DIHandler):
    async def get(self):
        first, second = await self.notifier(), await self.notifier()
        self.finish(common.graph_document(first, second, self.services["pool"]))


class DIPoolHandler(ContractHandler):
    def get(self):
        self.finish(common.pool_document(self.settings["services"]["pool"]))


DI_ROUTES = [
    (r"/di/one", DIOneHandler),
    (r"/di/ten", DITenHandler),
    (r"/di/graph", DIGraphHandler),
    (r"/di/pool", DIPoolHandler),
]


def di_settings():
    services = {"config": common.Config(), "clock": common.ServiceClock(), "cache": common.Cache(),
                "pool": common.ConnectionPool()}
    return {"services": services}


# --- validation suite -------------------------------------------------------------


class ValidateUserHandler(ContractHandler):
    def post(self):
        body = self.request.body
        if len(body) > common.MAX_BODY_BYTES:
            self.refuse(413, "body over 1 MiB")
            return
        try:
            data = json.loads(body)
        except ValueError:  # malformed JSON or text that is not UTF-8
            self.refuse(400, "malformed JSON")
            return
        user, errors = common.USER_SCHEMA.load(data)
        if errors:
            self.answer(common.errors_document(errors), 422)
        else:
            self.answer(common.created_document(user), 201)


VALIDATION_ROUTES = [(r"/validate/user", ValidateUserHandler)]


# --- async suite -------------------------------------------------------------------


class AsyncIOHandler(ContractHandler):
    async def get(self):
        start = time.perf_counter()
        await common.simulated_io()
        self.finish(common.io_document(common.micros_since(start)))


class AsyncFanoutHandler(ContractHandler):
    async def get(self):
        start = time.perf_counter()
        results = await common.fanout()
        self.finish(common.fanout_document(results, common.micros_since(start)))


class AsyncUpstreamHandler(ContractHandler):
    async def get(self):
        n = common.parse_upstream_n(self.get_query_argument("n", None))
        answer = await AsyncHTTPClient().fetch(self.settings["upstream_url"] + common.upstream_target(n))
        self.finish(common.upstream_document(common.upstream_n(answer.body)))


class AsyncFileHandler(ContractHandler):
    async def get(self):
        # Tornado has no async file API; blocking calls go to the IOLoop's executor.
        self.finish(await IOLoop.current().run_in_executor(None, common.read_fixture, self.settings["fixture"]))


class AsyncCPUHandler(ContractHandler):
    async def get(self):
        seed = common.parse_seed(self.get_query_argument("seed", None))
        result = await IOLoop.current().run_in_executor(self.settings["cpu_pool"], common.cpu, seed)
        self.finish(common.cpu_document(seed, result))


class AsyncSyncHandler(ContractHandler):
    def get(self):
        self.finish(common.SYNC_DOCUMENT)


ASYNC_ROUTES = [
    (r"/async/io", AsyncIOHandler),
    (r"/async/fanout", AsyncFanoutHandler),
    (r"/async/upstream", AsyncUpstreamHandler),
    (r"/async/file", AsyncFileHandler),
    (r"/async/cpu", AsyncCPUHandler),
    (r"/async/sync", AsyncSyncHandler),
]


def async_settings(fixture, cpu_pool):
    host, port = common.upstream_address()
    return {"upstream_url": f"http://{host}:{port}", "fixture": fixture, "cpu_pool": cpu_pool}


# --- application and server ----------------------------------------------------


def make_app(fixture, cpu_pool):
    return tornado.web.Application(
        BASIC_ROUTES + MIDDLEWARE_ROUTES + DI_ROUTES + VALIDATION_ROUTES + ASYNC_ROUTES,
        debug=False,
        # The access log is a logging call per request; off, as for every peer.
        log_function=lambda handler: None,
        **middleware_settings(), **di_settings(), **async_settings(fixture, cpu_pool),
    )


def configure_pools():
    """The loop's thread pool (file reads, the client's address lookups) gets
    the same size as every peer's, and the upstream client room for 100 calls
    at once: the simple client's default of 10 would queue the rest."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=common.pool_threads()))
    AsyncHTTPClient.configure(None, max_clients=100)


async def serve(sockets, fixture, cpu_pool):
    configure_pools()
    server = HTTPServer(make_app(fixture, cpu_pool))
    server.add_sockets(sockets)
    await asyncio.Event().wait()


def main():
    host = os.environ.get("CATBENCH_HOST", "127.0.0.1")
    port = int(os.environ.get("CATBENCH_PORT", "8000"))
    fixture = common.write_fixture()
    # Tornado's multi-process recipe: bind, fork, then start an event loop in each process.
    sockets = bind_sockets(port, host)
    if common.workers() > 1:
        fork_processes(common.workers())
    # Each process's own CPU pool, forked before the event loop makes any thread.
    asyncio.run(serve(sockets, fixture, common.start_cpu_pool()))


if __name__ == "__main__":
    main()
