"""The catbench contract on FastAPI, served by uvicorn (uvloop, httptools).

Run as `uvicorn fastapi_app:app` (see peers.json). Business logic comes from
common.py; what is FastAPI's own here:

- middleware: pure ASGI middleware classes (Starlette's recommended form; no
  BaseHTTPMiddleware, which costs a task and a stream per layer). Layers apply
  per route, so each /mw{level} is a Starlette Mount whose own middleware is
  the first `level` layers, around its /hello routes and nothing else.
- DI: `Depends` with its per-request cache: singletons are module-level
  instances, request scope is the default cache, transients are
  `use_cache=False`, the pooled connection is a yield dependency, the token
  provider an async dependency.
- validation: pydantic models with declarative constraints, and an exception
  handler that reshapes pydantic's errors into the contract's 422 document.
- async: async endpoints; blocking file reads in Starlette's thread pool, CPU
  work in a process pool, the upstream through aiohttp's pooled client; a
  plain `def` endpoint runs in the thread pool as FastAPI runs any.
- answers: the async JSON endpoints declare their answer's model
  (response_model=), so FastAPI serializes it with pydantic straight to JSON
  bytes (its documented fast path) instead of jsonable_encoder and json.dumps;
  the one `def` endpoint does not (see there).
"""

import asyncio
import time
from contextlib import asynccontextmanager
from typing import Annotated

import aiohttp
import anyio.to_thread
from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware import Middleware
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictBool, StrictInt, StrictStr, create_model
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.routing import Mount

import common


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Start-up: the thread pool's size, the async suite's fixture, CPU pool and upstream client."""
    # Starlette's thread pool (def endpoints, run_in_threadpool) is anyio's
    # default limiter: as large as every peer's pool, not anyio's 40.
    anyio.to_thread.current_default_thread_limiter().total_tokens = common.pool_threads()
    fixture = common.write_fixture()
    # Fork the pool's processes first, while the server has no threads yet.
    cpu_pool = common.start_cpu_pool()
    host, port = common.upstream_address()
    async with aiohttp.ClientSession(f"http://{host}:{port}") as upstream:
        # Lifespan state: Starlette copies it into every request's `request.state`.
        yield {"fixture": fixture, "cpu_pool": cpu_pool, "upstream": upstream}
    cpu_pool.shutdown()


# No OpenAPI schema or docs pages: production serving, and no extra routes to match.
app = FastAPI(lifespan=lifespan, openapi_url=None)


# ---- basic suite ----------------------------------------------------------------
# Endpoints that return common.py's documents name their model with
# response_model=: FastAPI validates the document into it and dumps it.

class MessageAnswer(BaseModel):
    message: str


class UserAnswer(BaseModel):
    id: int
    name: str


class SearchResult(BaseModel):
    id: int
    title: str


class SearchAnswer(BaseModel):
    query: str
    limit: int
    results: list[SearchResult]


@app.get("/plaintext", response_class=PlainTextResponse)
async def plaintext():
    return common.PLAINTEXT_BODY


@app.get("/json", response_model=MessageAnswer)
async def json_message():
    return {"message": common.JSON_MESSAGE}


@app.get("/users/{user_id}", response_model=UserAnswer)
async def user(user_id: Annotated[int, Path(ge=common.INT64_MIN, le=common.INT64_MAX)]):
    return common.user_document(user_id)


@app.get("/search", response_model=SearchAnswer)
async def search(q: str = "", limit: str | None = None):
    # `limit` is text: the contract gives a non-integer the default rather than an error.
    return common.search_document(q, common.search_limit(limit))


# ---- middleware suite: pure ASGI layers ------------------------------------------

sink = common.LogSink()
limiter = common.RateLimiter()


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
    await JSONResponse(common.error_document(message), status_code=status, headers=headers)(scope, receive, send)


class RequestIDLayer(Layer):
    async def handle(self, scope, receive, send):
        request_id = Headers(scope=scope).get("x-request-id")
        if request_id is None:
            request_id = common.next_request_id()
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
        sink.append(common.LogRecord(scope["method"], scope["path"], status, common.micros_since(started)))


class SecurityHeadersLayer(Layer):
    async def handle(self, scope, receive, send):
        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in common.SECURITY_HEADERS:
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CORSLayer(Layer):
    async def handle(self, scope, receive, send):
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin == common.ALLOWED_ORIGIN:
            send = self.allowing_origin(send)
        if common.is_cors_preflight(scope["method"], origin, headers.get("access-control-request-method")):
            # Answered here, before authentication: a preflight carries no token.
            await Response(status_code=204, headers=dict(common.CORS_PREFLIGHT_HEADERS))(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def allowing_origin(send):
        async def send_allowing_origin(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = common.ALLOWED_ORIGIN
                headers.append("Vary", "Origin")
            await send(message)

        return send_allowing_origin


class AuthLayer(Layer):
    async def handle(self, scope, receive, send):
        try:
            claims = common.verify_jwt(Headers(scope=scope).get("authorization"))
        except common.JWTRejected as rejection:
            await answer_early(scope, receive, send, 401, rejection.reason, {"WWW-Authenticate": common.WWW_AUTHENTICATE})
            return
        scope["state"]["user"] = claims.subject
        await self.app(scope, receive, send)


class RateLimitLayer(Layer):
    async def handle(self, scope, receive, send):
        key = common.client_key(Headers(scope=scope).get("x-client-key"), scope["state"].get("user"))
        decision = limiter.take(key)
        if not decision.allowed:
            await answer_early(scope, receive, send, 429, common.RATE_LIMITED, {"Retry-After": str(decision.retry_after)})
            return
        await self.app(scope, receive, send)


class AsyncContextLayer(Layer):
    async def handle(self, scope, receive, send):
        scope["state"]["context"] = await common.resolve_context()
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
        if not common.accepts_json(Headers(scope=scope).get("accept")):
            await answer_early(scope, receive, send, 406, common.NOT_ACCEPTABLE)
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
        return common.hello_document(level, getattr(state, "user", None), getattr(state, "request_id", None),
                                     getattr(state, "context", None))

    async def hello_options():
        # Reached when no CORS layer answered a preflight: list the methods.
        return Response(status_code=204, headers={"Allow": common.CORS_METHODS})

    routes = [APIRoute("/hello", hello, methods=["GET"], response_model=HelloAnswer),
              APIRoute("/hello", hello_options, methods=["OPTIONS"])]
    return Mount(f"/mw{level}", routes=routes, middleware=[Middleware(layer) for layer in LAYERS[:level]])


@app.get("/mw/stats", response_model=StatsAnswer)
async def middleware_stats():
    return {"logged": sink.total}


for level in common.LEVELS:
    app.router.routes.append(layered_hello(level))


# ---- DI suite: Depends ------------------------------------------------------------
# Every provider is `async def`: none blocks, and FastAPI would run a plain
# `def` dependency in its thread pool.

CONFIG, CLOCK, CACHE = common.Config(), common.ServiceClock(), common.Cache()
POOL = common.ConnectionPool()


async def config() -> common.Config:
    return CONFIG


async def clock() -> common.ServiceClock:
    return CLOCK


async def cache() -> common.Cache:
    return CACHE


async def connection_pool() -> common.ConnectionPool:
    return POOL


async def request_context() -> common.RequestContext:
    return common.RequestContext()


async def db_connection(pool: Annotated[common.ConnectionPool, Depends(connection_pool)]):
    """The request's pooled connection, given back when the request is done."""
    connection = await pool.acquire()
    try:
        yield connection
    finally:
        connection.release()


ConfigDep = Annotated[common.Config, Depends(config)]
ClockDep = Annotated[common.ServiceClock, Depends(clock)]
CacheDep = Annotated[common.Cache, Depends(cache)]
RequestContextDep = Annotated[common.RequestContext, Depends(request_context)]
DBConnectionDep = Annotated[common.DBConnection, Depends(db_connection)]


async def logger(context: RequestContextDep, settings: ConfigDep) -> common.Logger:
    return common.Logger(context, settings)


LoggerDep = Annotated[common.Logger, Depends(logger)]


async def user_repository(connection: DBConnectionDep, log: LoggerDep) -> common.UserRepository:
    return common.UserRepository(connection, log)


async def token_provider(settings: ConfigDep) -> common.TokenProvider:
    return await common.make_token_provider(settings)


UserRepositoryDep = Annotated[common.UserRepository, Depends(user_repository)]
TokenProviderDep = Annotated[common.TokenProvider, Depends(token_provider)]


async def user_service(repository: UserRepositoryDep, shared_cache: CacheDep, service_clock: ClockDep,
                       tokens: TokenProviderDep) -> common.UserService:
    return common.UserService(repository, shared_cache, service_clock, tokens)


UserServiceDep = Annotated[common.UserService, Depends(user_service)]


async def audit_event(log: LoggerDep, service_clock: ClockDep) -> common.AuditEvent:
    return common.AuditEvent(log, service_clock)


# Transient: use_cache=False makes every injection a new instance.
AuditEventDep = Annotated[common.AuditEvent, Depends(audit_event, use_cache=False)]


async def notifier(users: UserServiceDep, audit: AuditEventDep) -> common.Notifier:
    return common.Notifier(users, audit)


NotifierDep = Annotated[common.Notifier, Depends(notifier, use_cache=False)]


class OneAnswer(BaseModel):
    request_context: str


# The ten services' ids, keyed as common.TEN says.
TenAnswer = create_model("TenAnswer", **{key: str for _, key in common.TEN})


class GraphAnswer(BaseModel):
    # Each resolution maps a service (as Notifier.graph() names them) to its instance's id.
    resolutions: list[dict[str, str]]
    pool_in_use: int


class PoolAnswer(BaseModel):
    size: int
    in_use: int


@app.get("/di/one", response_model=OneAnswer)
async def di_one(context: RequestContextDep):
    return {"request_context": context.id}


@app.get("/di/ten", response_model=TenAnswer)
async def di_ten(settings: ConfigDep, service_clock: ClockDep, shared_cache: CacheDep, context: RequestContextDep,
                 connection: DBConnectionDep, log: LoggerDep, repository: UserRepositoryDep,
                 tokens: TokenProviderDep, users: UserServiceDep, audit: AuditEventDep):
    return common.ten_document(settings, service_clock, shared_cache, context, connection, log,
                               repository, tokens, users, audit)


@app.get("/di/graph", response_model=GraphAnswer)
async def di_graph(first: NotifierDep, second: NotifierDep):
    return common.graph_document(first, second, POOL)


@app.get("/di/pool", response_model=PoolAnswer)
async def di_pool():
    return common.pool_document(POOL)


# ---- validation suite: pydantic ---------------------------------------------------

def null_as(default):
    """A null counts as absent (as on the stacks): it becomes the field's default."""
    return BeforeValidator(lambda value: default() if value is None else value)


def length(bounds: tuple[int, int]):
    return Field(min_length=bounds[0], max_length=bounds[1])


def within(bounds: tuple[float, float]):
    return Field(ge=bounds[0], le=bounds[1])


class Address(BaseModel):
    street: Annotated[StrictStr, length(common.STREET_LENGTH)]
    city: Annotated[StrictStr, length(common.CITY_LENGTH)]
    zip: Annotated[StrictStr, Field(pattern=common.ZIP_PATTERN)]
    country: Annotated[StrictStr, Field(pattern=common.COUNTRY_PATTERN)]


Tag = Annotated[StrictStr, length(common.TAG_LENGTH)]


class Item(BaseModel):
    sku: Annotated[StrictStr, Field(pattern=common.SKU_PATTERN)]
    quantity: Annotated[StrictInt, within(common.QUANTITY_RANGE)]
    # Strict, so "2" is refused; an integer is still a number.
    price: Annotated[float, Field(strict=True), within(common.PRICE_RANGE)]
    tags: Annotated[list[Tag], Field(max_length=common.TAGS_MAX), null_as(list)] = []


class User(BaseModel):
    # Unknown fields are ignored (pydantic's default, extra="ignore").
    # Trimmed first, then measured: the constraint follows the validator.
    name: Annotated[StrictStr, AfterValidator(common.trim), length(common.NAME_LENGTH)]
    email: Annotated[StrictStr, AfterValidator(common.normalize_email), Field(pattern=common.EMAIL_PATTERN)]
    age: Annotated[StrictInt, within(common.AGE_RANGE)]
    username: Annotated[StrictStr, Field(pattern=common.USERNAME_PATTERN)]
    nickname: Annotated[StrictStr | None, Field(max_length=common.NICKNAME_MAX)] = None
    newsletter: Annotated[StrictBool, null_as(bool)] = False
    address: Address
    items: Annotated[list[Item], length(common.ITEM_COUNT)]


class Created(BaseModel):
    user: User
    item_count: int
    total: float


def error_path(location: tuple) -> str:
    """pydantic's error location as the contract's path: ("body", "items", 3, "quantity") → items[3].quantity."""
    path = ""
    for part in location[1:]:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or location[0]


@app.exception_handler(RequestValidationError)
async def validation_failed(request: Request, error: RequestValidationError):
    """Body errors → 422 with every failing field by path; malformed JSON and bad
    path or query parameters → 400 (the contract's rules, not FastAPI's all-422)."""
    errors = error.errors()
    if any(e["type"] == "json_invalid" for e in errors):
        return JSONResponse(common.error_document("malformed JSON"), status_code=400)
    document = common.errors_document((error_path(e["loc"]), e["msg"]) for e in errors)
    status = 422 if all(e["loc"][0] == "body" for e in errors) else 400
    return JSONResponse(document, status_code=status)


@app.post("/validate/user", status_code=201, max_body_size=common.MAX_BODY_BYTES)
async def validate_user(user: User) -> Created:
    total = common.order_total((item.quantity, item.price) for item in user.items)
    return Created(user=user, item_count=len(user.items), total=total)


# ---- async suite --------------------------------------------------------------------

class IOAnswer(BaseModel):
    io: str
    waited_us: int


class FanoutAnswer(BaseModel):
    calls: int
    results: list[int]
    waited_us: int


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


@app.get("/async/io", response_model=IOAnswer)
async def async_io():
    started = time.perf_counter()
    await common.simulated_io()
    return common.io_document(common.micros_since(started))


@app.get("/async/fanout", response_model=FanoutAnswer)
async def async_fanout():
    started = time.perf_counter()
    results = await common.fanout()
    return common.fanout_document(results, common.micros_since(started))


@app.get("/async/upstream", response_model=UpstreamAnswer)
async def async_upstream(request: Request, n: int = 0):
    async with request.state.upstream.get(common.upstream_target(n)) as response:
        body = await response.read()
    return common.upstream_document(common.upstream_n(body))


@app.get("/async/file", response_model=FileAnswer)
async def async_file(request: Request):
    # A blocking read goes to Starlette's thread pool, as FastAPI does for `def` code.
    return await run_in_threadpool(common.read_fixture, request.state.fixture)


@app.get("/async/cpu", response_model=CPUAnswer)
async def async_cpu(request: Request, seed: int = 1):
    result = await asyncio.get_running_loop().run_in_executor(request.state.cpu_pool, common.cpu, seed)
    return common.cpu_document(seed, result)


# No response model here: FastAPI validates a `def` endpoint's answer in its
# thread pool too, a second hop per request that costs far more than the
# encoding it replaces; without a model the dict is encoded on the loop.
@app.get("/async/sync")
def async_sync():
    # A plain `def` endpoint: FastAPI runs it in its thread pool.
    return common.SYNC_DOCUMENT
