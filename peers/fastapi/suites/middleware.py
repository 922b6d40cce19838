"""The middleware suite on FastAPI: pure ASGI middleware classes (Starlette's
recommended form; no BaseHTTPMiddleware, which costs a task and a stream per
layer). Layers apply per route, so each /mw{level} is a Starlette Mount in this
router whose own middleware is the first `level` layers, around its /hello
routes and nothing else."""

import time

from fastapi import APIRouter, Request
from fastapi.middleware import Middleware
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount

from catbench_shared import jwt, logging_sink, middleware_policy as policy, rate_limit

router = APIRouter()
sink = logging_sink.LogSink()
limiter = rate_limit.RateLimiter()


class Layer:
    """A pure ASGI middleware; `handle` sees HTTP requests, anything else passes by."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})
        await self.handle(scope, receive, send)


async def answer_early(scope, receive, send, status: int, message: str, headers: dict | None = None):
    """A layer's own answer; the outer layers still see it through `send`."""
    await JSONResponse(policy.error_document(message), status_code=status, headers=headers)(scope, receive, send)


class RequestIDLayer(Layer):
    async def handle(self, scope, receive, send):
        request_id = Headers(scope=scope).get("x-request-id")
        if request_id is None:
            request_id = policy.next_request_id()
        scope["state"]["request_id"] = request_id

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["X-Request-Id"] = request_id
            await send(message)

        await self.app(scope, receive, send_with_id)


class LoggingLayer(Layer):
    async def handle(self, scope, receive, send):
        started = time.perf_counter()
        status = 0

        async def send_noting_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, send_noting_status)
        sink.append(logging_sink.LogRecord(scope["method"], scope["path"], status,
                                           logging_sink.micros_since(started)))


class SecurityHeadersLayer(Layer):
    async def handle(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in policy.SECURITY_HEADERS:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CORSLayer(Layer):
    async def handle(self, scope, receive, send):
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin == policy.ALLOWED_ORIGIN:
            send = self.allowing_origin(send)
        if policy.is_cors_preflight(scope["method"], origin, headers.get("access-control-request-method")):
            # Answered here, before authentication: a preflight carries no token.
            await Response(status_code=204, headers=dict(policy.CORS_PREFLIGHT_HEADERS))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def allowing_origin(send):
        async def send_allowing_origin(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = policy.ALLOWED_ORIGIN
                headers.append("Vary", "Origin")
            await send(message)

        return send_allowing_origin


class AuthLayer(Layer):
    async def handle(self, scope, receive, send):
        try:
            claims = jwt.verify_jwt(Headers(scope=scope).get("authorization"))
        except jwt.JWTRejected as rejection:
            await answer_early(scope, receive, send, 401, rejection.reason,
                               {"WWW-Authenticate": policy.WWW_AUTHENTICATE})
            return
        scope["state"]["user"] = claims.subject
        await self.app(scope, receive, send)


class RateLimitLayer(Layer):
    async def handle(self, scope, receive, send):
        key = rate_limit.client_key(Headers(scope=scope).get("x-client-key"), scope["state"].get("user"))
        decision = limiter.take(key)
        if not decision.allowed:
            await answer_early(scope, receive, send, 429, policy.RATE_LIMITED,
                               {"Retry-After": str(decision.retry_after)})
            return
        await self.app(scope, receive, send)


class AsyncContextLayer(Layer):
    async def handle(self, scope, receive, send):
        scope["state"]["context"] = await policy.resolve_context()
        await self.app(scope, receive, send)


class TimingLayer(Layer):
    async def handle(self, scope, receive, send):
        started = time.perf_counter()

        async def send_with_timing(message):
            if message["type"] == "http.response.start":
                millis = (time.perf_counter() - started) * 1000
                MutableHeaders(scope=message).append("Server-Timing", f"app;dur={millis:.3f}")
            await send(message)

        await self.app(scope, receive, send_with_timing)


class CacheControlLayer(Layer):
    async def handle(self, scope, receive, send):
        async def send_no_store(message):
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_no_store)


class AcceptGuardLayer(Layer):
    async def handle(self, scope, receive, send):
        if not policy.accepts_json(Headers(scope=scope).get("accept")):
            await answer_early(scope, receive, send, 406, policy.NOT_ACCEPTABLE)
            return
        await self.app(scope, receive, send)


# Outermost first, as MiddlewarePolicy orders them.
LAYERS = (RequestIDLayer, LoggingLayer, SecurityHeadersLayer, CORSLayer, AuthLayer,
          RateLimitLayer, AsyncContextLayer, TimingLayer, CacheControlLayer, AcceptGuardLayer)


class HelloAnswer(BaseModel):
    message: str
    layers: int
    # What the layers found; the contract answers null for what no layer set.
    user: str | None
    request_id: str | None
    context: str | None


class StatsAnswer(BaseModel):
    logged: int


def layered_hello(level: int) -> Mount:
    """/mw{level}/hello behind exactly the first `level` layers: a Mount whose
    middleware (Starlette runs it outermost first) wraps only its two routes."""

    async def hello(request: Request):
        state = request.state
        return policy.hello_document(level, getattr(state, "user", None), getattr(state, "request_id", None),
                                     getattr(state, "context", None))

    async def hello_options():
        # Reached when no CORS layer answered a preflight: list the methods.
        return Response(status_code=204, headers={"Allow": policy.CORS_METHODS})

    routes = [APIRoute("/hello", hello, methods=["GET"], response_model=HelloAnswer),
              APIRoute("/hello", hello_options, methods=["OPTIONS"])]
    return Mount(f"/mw{level}", routes=routes, middleware=[Middleware(layer) for layer in LAYERS[:level]])


@router.get("/mw/stats", response_model=StatsAnswer)
async def middleware_stats():
    return {"logged": sink.total}


for level in policy.LEVELS:
    router.routes.append(layered_hello(level))
