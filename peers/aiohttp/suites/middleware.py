"""The middleware suite on aiohttp: ten @web.middleware coroutines, outermost
first (middleware_policy.LAYER_NAMES), scoped per level by sub-applications
(/mw5 is a sub-app whose middlewares are the first five layers). What a layer
finds is kept in the request's mapping for the inner layers and the handler."""

import time

from aiohttp import web

from catbench_shared import jwt, logging_sink, middleware_policy as policy, rate_limit

routes = web.RouteTableDef()

SINK = web.AppKey("sink", logging_sink.LogSink)
LIMITER = web.AppKey("limiter", rate_limit.RateLimiter)


def error_response(status, message, headers=None):
    return web.json_response(policy.error_document(message), status=status, headers=headers)


@web.middleware
async def request_id_layer(request, handler):
    request_id = request.headers.get("X-Request-Id") or policy.next_request_id()
    request["request_id"] = request_id
    response = await handler(request)
    response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def logging_layer(request, handler):
    start = time.perf_counter()
    response = await handler(request)
    record = logging_sink.LogRecord(request.method, request.path, response.status, logging_sink.micros_since(start))
    request.config_dict[SINK].append(record)
    return response


@web.middleware
async def security_layer(request, handler):
    response = await handler(request)
    response.headers.update(policy.SECURITY_HEADERS)
    return response


@web.middleware
async def cors_layer(request, handler):
    origin = request.headers.get("Origin")
    if policy.is_cors_preflight(request.method, origin, request.headers.get("Access-Control-Request-Method")):
        response = web.Response(status=204, headers=policy.CORS_PREFLIGHT_HEADERS)
    else:
        response = await handler(request)
    if origin == policy.ALLOWED_ORIGIN:
        response.headers["Access-Control-Allow-Origin"] = policy.ALLOWED_ORIGIN
        response.headers.add("Vary", "Origin")
    return response


@web.middleware
async def auth_layer(request, handler):
    try:
        claims = jwt.verify_jwt(request.headers.get("Authorization"))
    except jwt.JWTRejected as rejection:
        return error_response(401, rejection.reason, {"WWW-Authenticate": policy.WWW_AUTHENTICATE})
    request["user"] = claims.subject
    return await handler(request)


@web.middleware
async def rate_limit_layer(request, handler):
    key = rate_limit.client_key(request.headers.get("X-Client-Key"), request.get("user"))
    decision = request.config_dict[LIMITER].take(key)
    if not decision.allowed:
        return error_response(429, policy.RATE_LIMITED, {"Retry-After": str(decision.retry_after)})
    return await handler(request)


@web.middleware
async def async_context_layer(request, handler):
    request["context"] = await policy.resolve_context()
    return await handler(request)


@web.middleware
async def timing_layer(request, handler):
    start = time.perf_counter()
    response = await handler(request)
    response.headers.add("Server-Timing", f"app;dur={logging_sink.micros_since(start) / 1000}")
    return response


@web.middleware
async def cache_control_layer(request, handler):
    response = await handler(request)
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def accept_guard_layer(request, handler):
    if not policy.accepts_json(request.headers.get("Accept")):
        return error_response(406, policy.NOT_ACCEPTABLE)
    return await handler(request)


LAYERS = (request_id_layer, logging_layer, security_layer, cors_layer, auth_layer,
          rate_limit_layer, async_context_layer, timing_layer, cache_control_layer, accept_guard_layer)


def hello_app(level):
    """The sub-app mounted at /mw{level}: GET and OPTIONS /hello behind the first `level` layers."""

    async def hello(request):
        return web.json_response(policy.hello_document(
            level, request.get("user"), request.get("request_id"), request.get("context")))

    async def options(request):
        # Reached when no CORS layer answered a preflight: list the methods.
        return web.Response(status=204, headers={"Allow": policy.CORS_METHODS})

    subapp = web.Application(middlewares=LAYERS[:level])
    subapp.router.add_get("/hello", hello)
    subapp.router.add_route("OPTIONS", "/hello", options)
    return subapp


@routes.get("/mw/stats")
async def stats(request):
    return web.json_response({"logged": request.app[SINK].total})


def setup(app):
    """The sink and buckets as app keys, and a sub-app per level."""
    app[SINK] = logging_sink.LogSink()
    app[LIMITER] = rate_limit.RateLimiter()
    for level in policy.LEVELS:
        app.add_subapp(f"/mw{level}", hello_app(level))
