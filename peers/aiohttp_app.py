"""The catbench contract on aiohttp: a web.Application served by gunicorn's
aiohttp.GunicornUVLoopWebWorker, native coroutine handlers.

Mechanisms: middleware are @web.middleware coroutines, scoped per level by
sub-applications (/mw5 is a sub-app whose middlewares are the first five
layers); DI is aiohttp's idiom of typed app keys for singletons and the
request's own mapping for request-scoped objects, opened and closed by a
middleware of the /di sub-app; validation is common.py's dictionary schema
(aiohttp has no validation library); the async work runs on the worker's
uvloop, with one keep-alive ClientSession per worker for the upstream.
"""

import asyncio
import functools
import json
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from aiohttp import ClientSession, web

import common

# --- basic suite -------------------------------------------------------------

basic = web.RouteTableDef()


@basic.get("/plaintext")
async def plaintext(request):
    return web.Response(text=common.PLAINTEXT_BODY)


@basic.get("/json")
async def json_message(request):
    return web.json_response({"message": common.JSON_MESSAGE})


@basic.get(r"/users/{id:[+-]?[0-9]+}")
async def user(request):
    # The route admits only integer text; one beyond int64 is not a user either.
    user_id = common.parse_int64(request.match_info["id"])
    if user_id is None:
        raise web.HTTPNotFound()
    return web.json_response(common.user_document(user_id))


@basic.get("/search")
async def search(request):
    limit = common.search_limit(request.query.get("limit"))
    return web.json_response(common.search_document(request.query.get("q", ""), limit))


# --- middleware suite ----------------------------------------------------------
# Ten @web.middleware layers, outermost first (common.LAYER_NAMES). What a layer
# finds is kept in the request's mapping for the inner layers and the handler.

SINK = web.AppKey("sink", common.LogSink)
LIMITER = web.AppKey("limiter", common.RateLimiter)


def error_response(status, message, headers=None):
    return web.json_response(common.error_document(message), status=status, headers=headers)


@web.middleware
async def request_id_layer(request, handler):
    request_id = request.headers.get("X-Request-Id") or common.next_request_id()
    request["request_id"] = request_id
    response = await handler(request)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def logging_layer(request, handler):
    start = time.perf_counter()
    response = await handler(request)
    record = common.LogRecord(request.method, request.path, response.status, common.micros_since(start))
    request.config_dict[SINK].append(record)
    return response


@web.middleware
async def security_layer(request, handler):
    response = await handler(request)
    response.headers.update(common.SECURITY_HEADERS)
    return response


@web.middleware
async def cors_layer(request, handler):
    origin = request.headers.get("Origin")
    if common.is_cors_preflight(request.method, origin, request.headers.get("Access-Control-Request-Method")):
        response = web.Response(status=204, headers=common.CORS_PREFLIGHT_HEADERS)
    else:
        response = await handler(request)
    if origin == common.ALLOWED_ORIGIN:
        response.headers["Access-Control-Allow-Origin"] = common.ALLOWED_ORIGIN
        response.headers.add("Vary", "Origin")
    return response


@web.middleware
async def auth_layer(request, handler):
    try:
        claims = common.verify_jwt(request.headers.get("Authorization"))
    except common.JWTRejected as rejection:
        return error_response(401, rejection.reason, {"WWW-Authenticate": common.WWW_AUTHENTICATE})
    request["user"] = claims.subject
    return await handler(request)


@web.middleware
async def rate_limit_layer(request, handler):
    key = common.client_key(request.headers.get("X-Client-Key"), request.get("user"))
    decision = request.config_dict[LIMITER].take(key)
    if not decision.allowed:
        return error_response(429, common.RATE_LIMITED, {"Retry-After": str(decision.retry_after)})
    return await handler(request)


@web.middleware
async def async_context_layer(request, handler):
    request["context"] = await common.resolve_context()
    return await handler(request)


@web.middleware
async def timing_layer(request, handler):
    start = time.perf_counter()
    response = await handler(request)
    response.headers.add("Server-Timing", f"app;dur={common.micros_since(start) / 1000}")
    return response


@web.middleware
async def cache_control_layer(request, handler):
    response = await handler(request)
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def accept_guard_layer(request, handler):
    if not common.accepts_json(request.headers.get("Accept")):
        return error_response(406, common.NOT_ACCEPTABLE)
    return await handler(request)


LAYERS = (request_id_layer, logging_layer, security_layer, cors_layer, auth_layer,
          rate_limit_layer, async_context_layer, timing_layer, cache_control_layer, accept_guard_layer)


def hello_app(level):
    """The sub-app mounted at /mw{level}: GET and OPTIONS /hello behind the first `level` layers."""

    async def hello(request):
        return web.json_response(common.hello_document(
            level, request.get("user"), request.get("request_id"), request.get("context")))

    async def options(request):
        # Reached when no CORS layer answered a preflight: list the methods.
        return web.Response(status=204, headers={"Allow": common.CORS_METHODS})

    subapp = web.Application(middlewares=LAYERS[:level])
    subapp.router.add_get("/hello", hello)
    subapp.router.add_route("OPTIONS", "/hello", options)
    return subapp


async def stats(request):
    return web.json_response({"logged": request.app[SINK].total})


def add_middleware_suite(app):
    app[SINK] = common.LogSink()
    app[LIMITER] = common.RateLimiter()
    app.router.add_get("/mw/stats", stats)
    for level in common.LEVELS:
        app.add_subapp(f"/mw{level}", hello_app(level))


# --- DI suite -------------------------------------------------------------------
# aiohttp has no container: singletons live under app keys, made at start-up;
# request-scoped objects live in the request's mapping, made on first use by the
# provider coroutines below; transients are made at every call. The /di
# sub-app's middleware closes the request scope: it gives the pooled connection
# back when the handler is done.

CONFIG = web.AppKey("config", common.Config)
CLOCK = web.AppKey("clock", common.ServiceClock)
CACHE = web.AppKey("cache", common.Cache)
POOL = web.AppKey("pool", common.ConnectionPool)


def request_scoped(make):
    """A provider that makes its object once per request and keeps it in the request."""
    key = make.__name__

    @functools.wraps(make)
    async def provide(request):
        if key not in request:
            request[key] = await make(request)
        return request[key]

    return provide


@request_scoped
async def request_context(request):
    return common.RequestContext()


@request_scoped
async def db_connection(request):
    return await request.config_dict[POOL].acquire()


@request_scoped
async def logger(request):
    return common.Logger(await request_context(request), request.config_dict[CONFIG])


@request_scoped
async def user_repository(request):
    return common.UserRepository(await db_connection(request), await logger(request))


@request_scoped
async def token_provider(request):
    return await common.make_token_provider(request.config_dict[CONFIG])


@request_scoped
async def user_service(request):
    services = request.config_dict
    return common.UserService(await user_repository(request), services[CACHE], services[CLOCK],
                              await token_provider(request))


async def audit_event(request):
    return common.AuditEvent(await logger(request), request.config_dict[CLOCK])


async def notifier(request):
    return common.Notifier(await user_service(request), await audit_event(request))


@web.middleware
async def request_scope(request, handler):
    try:
        return await handler(request)
    finally:
        connection = request.get(db_connection.__name__)
        if connection is not None:
            connection.release()


async def di_one(request):
    return web.json_response({"request_context": (await request_context(request)).id})


async def di_ten(request):
    services = request.config_dict
    return web.json_response(common.ten_document(
        services[CONFIG], services[CLOCK], services[CACHE], await request_context(request),
        await db_connection(request), await logger(request), await user_repository(request),
        await token_provider(request), await user_service(request), await audit_event(request)))


async def di_graph(request):
    first, second = await notifier(request), await notifier(request)
    return web.json_response(common.graph_document(first, second, request.config_dict[POOL]))


async def di_pool(request):
    return web.json_response(common.pool_document(request.config_dict[POOL]))


def add_di_suite(app):
    app[CONFIG], app[CLOCK], app[CACHE] = common.Config(), common.ServiceClock(), common.Cache()
    app[POOL] = common.ConnectionPool()
    di = web.Application(middlewares=[request_scope])
    di.router.add_get("/one", di_one)
    di.router.add_get("/ten", di_ten)
    di.router.add_get("/graph", di_graph)
    app.router.add_get("/di/pool", di_pool)
    app.add_subapp("/di", di)


# --- validation suite -------------------------------------------------------------
# aiohttp has no validation library; the handler loads the body with common.py's
# dictionary schema. aiohttp itself refuses a body over client_max_size (1 MiB)
# with 413.

validation = web.RouteTableDef()


@validation.post("/validate/user")
async def validate_user(request):
    try:
        data = json.loads(await request.read())
    except ValueError:  # malformed JSON or text that is not UTF-8
        return error_response(400, "malformed JSON")
    user, errors = common.USER_SCHEMA.load(data)
    if errors:
        return web.json_response(common.errors_document(errors), status=422)
    return web.json_response(common.created_document(user), status=201)


# --- async suite ---------------------------------------------------------------------

UPSTREAM = web.AppKey("upstream", ClientSession)
CPU_POOL = web.AppKey("cpu_pool", ProcessPoolExecutor)
FIXTURE = web.AppKey("fixture", str)

async_ops = web.RouteTableDef()


@async_ops.get("/async/io")
async def async_io(request):
    start = time.perf_counter()
    await common.simulated_io()
    return web.json_response(common.io_document(common.micros_since(start)))


@async_ops.get("/async/fanout")
async def async_fanout(request):
    start = time.perf_counter()
    results = await common.fanout()
    return web.json_response(common.fanout_document(results, common.micros_since(start)))


@async_ops.get("/async/upstream")
async def async_upstream(request):
    n = common.parse_upstream_n(request.query.get("n"))
    async with request.app[UPSTREAM].get(common.upstream_target(n)) as answer:
        body = await answer.read()
    return web.json_response(common.upstream_document(common.upstream_n(body)))


@async_ops.get("/async/file")
async def async_file(request):
    # aiohttp has no async file API; its docs send blocking calls to an executor.
    loop = asyncio.get_running_loop()
    return web.json_response(await loop.run_in_executor(None, common.read_fixture, request.app[FIXTURE]))


@async_ops.get("/async/cpu")
async def async_cpu(request):
    seed = common.parse_seed(request.query.get("seed"))
    result = await asyncio.get_running_loop().run_in_executor(request.app[CPU_POOL], common.cpu, seed)
    return web.json_response(common.cpu_document(seed, result))


@async_ops.get("/async/sync")
def async_sync(request):
    # A plain function: aiohttp still accepts it (deprecated) and calls it on the loop.
    return web.json_response(common.SYNC_DOCUMENT)


async def async_resources(app):
    """cleanup_ctx: the worker's upstream session and CPU pool, closed at shutdown,
    and its loop's thread pool (the file read), as large as every peer's."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=common.pool_threads()))
    host, port = common.upstream_address()
    # The session's connector keeps connections alive and reuses them.
    app[UPSTREAM] = ClientSession(f"http://{host}:{port}")
    app[CPU_POOL] = common.start_cpu_pool()
    yield
    await app[UPSTREAM].close()
    app[CPU_POOL].shutdown()


# --- application -----------------------------------------------------------------------


def make_app():
    app = web.Application()
    app.add_routes(basic)
    app.add_routes(validation)
    app.add_routes(async_ops)
    add_middleware_suite(app)
    add_di_suite(app)
    app[FIXTURE] = common.write_fixture()
    app.cleanup_ctx.append(async_resources)
    return app


app = make_app()
