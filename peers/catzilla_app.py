"""The catbench contract on Catzilla: its own C server (libuv, llhttp) and C router,
its middleware system, DI container, validation models and asyncio bridge.

Mechanisms:
- middleware: each layer's request work is per-route middleware (run in list
  order before the handler, may answer early); the layers' response work runs
  in one global post-route middleware (Catzilla has post-route middleware only
  globally), which leaves alone requests that went through no layer.
- DI: Catzilla's container with constructor injection by parameter name and
  Depends() in handlers; request scope through catzilla.scope (see the DI
  section for why).
- validation: Catzilla's BaseModel and Field.
- async: async handlers run on Catzilla's asyncio bridge loop; sync handlers on
  the server's thread.
Catzilla serves from one process: it has no multi-process mode.
"""

import asyncio
import itertools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from typing import List, Optional

import common

# Catzilla serves from one process whatever CATBENCH_WORKERS says, so its pools
# are the whole server's, not one worker's share.
POOL_SIZE = common.server_pool_size()

# Catzilla's C extension starts threads as it loads; the CPU pool forks its
# processes first, so that they start from a single-threaded process.
CPU_POOL = common.start_cpu_pool(POOL_SIZE)


class PooledLoopPolicy(asyncio.DefaultEventLoopPolicy):
    """New asyncio loops get a default executor of POOL_SIZE threads (for the
    file read, as every peer's pool). Catzilla's C extension makes its asyncio
    bridge loop itself, on its own thread, as it is imported, and offers no
    start-up hook; the loop policy is asyncio's way to shape loops made by code
    the app does not control, so it is set before the import below."""

    def new_event_loop(self):
        loop = super().new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=POOL_SIZE))
        return loop


asyncio.set_event_loop_policy(PooledLoopPolicy())

from aiohttp import ClientSession  # noqa: E402
from catzilla import BaseModel, Catzilla, Depends, Field, JSONResponse, Response, ScopedDIContainer  # noqa: E402
from catzilla.scope import ScopeType, get_scope_manager  # noqa: E402
from catzilla.validation import ValidationError  # noqa: E402

app = Catzilla(production=True, show_banner=False, di_container=ScopedDIContainer())

# Catzilla's documented way to await in sync code (middleware, factories) is to
# run the coroutine to completion; a Runner does that on one reused loop.
RUNNER = asyncio.Runner()


# --- standard headers --------------------------------------------------------
# Catzilla's C server writes Content-Type, Content-Length and Connection only;
# Date and Server come from post-route middleware, and from the 404 handler
# (Catzilla sends a not-found answer without running middleware).

_date = [0, ""]


def http_date():
    """The IMF-fixdate of now, formatted once per second."""
    now = int(time.time())
    if now != _date[0]:
        _date[0], _date[1] = now, formatdate(now, usegmt=True)
    return _date[1]


def standard_headers(request, response):
    response.set_header("Date", http_date())
    response.set_header("Server", "Catzilla")


def not_found(request):
    response = JSONResponse({"error": "Not found"}, status_code=404)
    standard_headers(request, response)
    return response


app.set_not_found_handler(not_found)


# --- basic suite -------------------------------------------------------------


@app.get("/plaintext")
def plaintext(request):
    return Response(body=common.PLAINTEXT_BODY, content_type="text/plain")


@app.get("/json")
def json_message(request):
    return JSONResponse({"message": common.JSON_MESSAGE})


@app.get("/users/{id}")
def user(request):
    # Catzilla's path parameters are untyped (a typed Path() answers 422 for
    # "abc", where the contract wants 404), so the handler reads the integer.
    user_id = common.parse_int64(request.path_params["id"])
    if user_id is None:
        return not_found(request)
    return JSONResponse(common.user_document(user_id))


@app.get("/search")
def search(request):
    query = request.query_params
    return JSONResponse(common.search_document(query.get("q", ""), common.search_limit(query.get("limit"))))


# --- middleware suite ----------------------------------------------------------
# A layer at position p (1…10, common.LAYER_NAMES) has a `before` per-route
# middleware and, when it touches the answer, an `after` function, run after
# the handler by the app's post-route middleware (see after_route below).
# What layers find is kept in request._context (Catzilla's middleware guide:
# the app creates it). `after` acts only on requests that entered its layer.
#
# Catzilla sends an answer returned by per-route middleware straight away,
# without post-route middleware; for the outer layers to see it, as the
# contract asks, the layer that answers early hands it to the entered layers'
# `after` functions itself (answer_early).

SINK = common.LogSink()
LIMITER = common.RateLimiter()


def enter(request, position):
    """Marks the layer at `position` entered; the request's middleware context
    (made by layer 1, which begins every chain)."""
    if position == 1:
        request._context = {}
    request._context["depth"] = position
    return request._context


def entered(request, position):
    context = getattr(request, "_context", None)
    return context is not None and context["depth"] >= position


def error_response(status, message, headers=None):
    return JSONResponse(common.error_document(message), status_code=status, headers=headers)


def request_id_before(request):
    enter(request, 1)["request_id"] = request.get_header("X-Request-Id") or common.next_request_id()


def request_id_after(request, response):
    if entered(request, 1):
        response.set_header("X-Request-Id", request._context["request_id"])


def logging_before(request):
    enter(request, 2)["started"] = time.perf_counter()


def logging_after(request, response):
    if entered(request, 2):
        micros = common.micros_since(request._context["started"])
        SINK.append(common.LogRecord(request.method, request.path.split("?", 1)[0], response.status_code, micros))


def security_before(request):
    enter(request, 3)


def security_after(request, response):
    if entered(request, 3):
        for name, value in common.SECURITY_HEADERS:
            response.set_header(name, value)


def cors_before(request):
    enter(request, 4)
    if common.is_cors_preflight(request.method, request.get_header("Origin"),
                                request.get_header("Access-Control-Request-Method")):
        return answer_early(request, Response(status_code=204, headers=dict(common.CORS_PREFLIGHT_HEADERS)))
    return None


def cors_after(request, response):
    if entered(request, 4) and request.get_header("Origin") == common.ALLOWED_ORIGIN:
        response.set_header("Access-Control-Allow-Origin", common.ALLOWED_ORIGIN)
        response.set_header("Vary", "Origin")


def auth_before(request):
    context = enter(request, 5)
    try:
        context["user"] = common.verify_jwt(request.get_header("Authorization")).subject
    except common.JWTRejected as rejection:
        return answer_early(request, error_response(401, rejection.reason,
                                                    {"WWW-Authenticate": common.WWW_AUTHENTICATE}))
    return None


def rate_limit_before(request):
    context = enter(request, 6)
    decision = LIMITER.take(common.client_key(request.get_header("X-Client-Key"), context.get("user")))
    if not decision.allowed:
        return answer_early(request, error_response(429, common.RATE_LIMITED,
                                                    {"Retry-After": str(decision.retry_after)}))
    return None


def async_context_before(request):
    enter(request, 7)["context"] = RUNNER.run(common.resolve_context())


def timing_before(request):
    enter(request, 8)["timing_started"] = time.perf_counter()


def timing_after(request, response):
    if entered(request, 8):
        millis = common.micros_since(request._context["timing_started"]) / 1000
        response.set_header("Server-Timing", f"app;dur={millis}")


def cache_control_before(request):
    enter(request, 9)


def cache_control_after(request, response):
    if entered(request, 9):
        response.set_header("Cache-Control", "no-store")


def accept_guard_before(request):
    enter(request, 10)
    if not common.accepts_json(request.get_header("Accept")):
        return answer_early(request, error_response(406, common.NOT_ACCEPTABLE))
    return None


BEFORE = (request_id_before, logging_before, security_before, cors_before, auth_before,
          rate_limit_before, async_context_before, timing_before, cache_control_before, accept_guard_before)
# The layers' response work, innermost layer first.
AFTER = (cache_control_after, timing_after, cors_after, security_after, logging_after, request_id_after)


def layers_after(request, response):
    """The response work of the layers the request entered, innermost first."""
    for after in AFTER:
        after(request, response)


def answer_early(request, response):
    """An early answer, given the response work Catzilla's post-route
    middleware (after_route, standard_headers) would have done: Catzilla
    skips post-route middleware for it."""
    layers_after(request, response)
    standard_headers(request, response)
    return response


def hello_handler(level):
    """GET /mw{level}/hello: what the layers in front of it found."""

    def hello(request):
        context = getattr(request, "_context", {})
        return JSONResponse(common.hello_document(
            level, context.get("user"), context.get("request_id"), context.get("context")))

    return hello


def options(request):
    # Reached when no CORS layer answered a preflight: list the methods.
    return Response(status_code=204, headers={"Allow": common.CORS_METHODS})


@app.get("/mw/stats")
def stats(request):
    return JSONResponse({"logged": SINK.total})


for level in common.LEVELS:
    app.get(f"/mw{level}/hello", middleware=list(BEFORE[:level]))(hello_handler(level))
    app.options(f"/mw{level}/hello", middleware=list(BEFORE[:level]))(options)


# --- DI suite -------------------------------------------------------------------
# Services are registered on the app's container; classes get their
# constructor arguments by parameter name (Logger(context, config) needs the
# services "context" and "config"), handlers by Depends("name").
#
# Catzilla's default DIContainer makes a new "request"-scoped instance at every
# resolution (it caches singletons only), so the app uses catzilla.scope's
# ScopedDIContainer, whose scope manager keeps one instance per active request
# scope and calls cleanup() on them when the scope ends. Per-route middleware
# opens the scope, the app's post-route middleware closes it (after_route;
# sync handlers: one thread).

POOL = common.ConnectionPool()
SCOPES = get_scope_manager()
_scope_ids = itertools.count(1)


def the_pool():
    return POOL


def lease_connection(pool):
    connection = pool.acquire_blocking()
    # The scope manager disposes request-scoped instances through cleanup().
    connection.cleanup = connection.release
    return connection


def make_tokens(config):
    # Catzilla's factories are sync; the async factory runs to completion.
    return RUNNER.run(common.make_token_provider(config))


SERVICES = (
    ("config", common.Config, "singleton"), ("clock", common.ServiceClock, "singleton"),
    ("cache", common.Cache, "singleton"), ("pool", the_pool, "singleton"),
    ("context", common.RequestContext, "request"), ("connection", lease_connection, "request"),
    ("logger", common.Logger, "request"), ("repository", common.UserRepository, "request"),
    ("tokens", make_tokens, "request"), ("users", common.UserService, "request"),
    ("audit", common.AuditEvent, "transient"), ("notifier", common.Notifier, "transient"),
)


def open_request_scope(request):
    request._di_scope = f"request-{next(_scope_ids)}"
    SCOPES.create_scope(request._di_scope, ScopeType.REQUEST)
    SCOPES.activate_scope(request._di_scope)


def close_request_scope(request):
    """The end of the request scope: cleanup() gives the pooled connection back."""
    SCOPES.cleanup_scope(request._di_scope)


for name, factory, scope in SERVICES:
    app.register_service(name, factory, scope)


@app.get("/di/one", middleware=[open_request_scope])
def di_one(request, context=Depends("context")):
    return JSONResponse({"request_context": context.id})


@app.get("/di/ten", middleware=[open_request_scope])
def di_ten(request, config=Depends("config"), clock=Depends("clock"), cache=Depends("cache"),
           context=Depends("context"), connection=Depends("connection"), logger=Depends("logger"),
           repository=Depends("repository"), tokens=Depends("tokens"), users=Depends("users"),
           audit=Depends("audit")):
    return JSONResponse(common.ten_document(config, clock, cache, context, connection, logger,
                                            repository, tokens, users, audit))


@app.get("/di/graph", middleware=[open_request_scope])
def di_graph(request, first=Depends("notifier"), second=Depends("notifier")):
    return JSONResponse(common.graph_document(first, second, POOL))


@app.get("/di/pool")
def di_pool(request):
    return JSONResponse(common.pool_document(POOL))


# --- post-route middleware -----------------------------------------------------
# Catzilla's post-route middleware is global: every registered one runs after
# every handler, /plaintext's too. So the app registers two: the standard
# headers every answer needs, and after_route, which returns at once unless the
# request went through the middleware layers or opened a DI scope.


def after_route(request, response):
    """The layers' response work, then the end of the DI scope (the request's
    last act), for the requests that have either."""
    if getattr(request, "_context", None) is not None:
        layers_after(request, response)
    if getattr(request, "_di_scope", None) is not None:
        close_request_scope(request)


# Lower priorities run first: the scope closes last.
app.middleware(priority=1, pre_route=False, post_route=True)(standard_headers)
app.middleware(priority=2, pre_route=False, post_route=True)(after_route)


# --- validation suite -------------------------------------------------------------
# The model is Catzilla's BaseModel with Field rules; __post_init__ (its hook for
# custom validation) trims the name and lowercases the email, as Catzilla has
# no field transforms. The handler parses the body itself: Catzilla's
# auto-validation turns malformed JSON into {} (Request.json), so it could not
# answer 400, and it has no body limit to answer 413.


class Address(BaseModel):
    street: str = Field(min_length=common.STREET_LENGTH[0], max_length=common.STREET_LENGTH[1])
    city: str = Field(min_length=common.CITY_LENGTH[0], max_length=common.CITY_LENGTH[1])
    zip: str = Field(regex=common.ZIP_PATTERN)
    country: str = Field(regex=common.COUNTRY_PATTERN)


TAG_RULE = common.Length(*common.TAG_LENGTH)
NAME_RULE = common.Length(*common.NAME_LENGTH)
EMAIL_RULE = common.Pattern(common.EMAIL_PATTERN)


class Item(BaseModel):
    sku: str = Field(regex=common.SKU_PATTERN)
    quantity: int = Field(ge=common.QUANTITY_RANGE[0], le=common.QUANTITY_RANGE[1])
    price: float = Field(ge=common.PRICE_RANGE[0], le=common.PRICE_RANGE[1])
    tags: List[str] = Field([], max_items=common.TAGS_MAX)

    def __post_init__(self):
        # A null counts as absent, as on the stacks.
        if self.tags is None:
            self.tags = []
        # Field() has no rule for a list's items; each tag must be 1…20 characters.
        for k, tag in enumerate(self.tags):
            problem = TAG_RULE.check(tag)
            if problem:
                raise ValidationError(f"tags[{k}]: {problem}")


class UserModel(BaseModel):
    name: str
    email: str
    age: int = Field(ge=common.AGE_RANGE[0], le=common.AGE_RANGE[1])
    username: str = Field(regex=common.USERNAME_PATTERN)
    nickname: Optional[str] = Field(None, max_length=common.NICKNAME_MAX)
    newsletter: bool = Field(False)
    address: Address
    items: List[Item] = Field(min_items=common.ITEM_COUNT[0], max_items=common.ITEM_COUNT[1])

    def __post_init__(self):
        # The rules of these two fields apply to the normalized values.
        self.name = common.trim(self.name)
        self.email = common.normalize_email(self.email)
        for field, rule in (("name", NAME_RULE), ("email", EMAIL_RULE)):
            problem = rule.check(getattr(self, field))
            if problem:
                raise ValidationError(f"{field}: {problem}")


def user_document(user):
    """The normalized user as JSON: Catzilla's dict() leaves nested models as objects."""
    document = user.dict()
    document["address"] = user.address.dict()
    document["items"] = [{**item.dict(), "tags": list(item.tags)} for item in user.items]
    return document


def body_bytes(request):
    """The body's size in bytes. Catzilla hands the body over as text; its
    Content-Length says the size without encoding up to 1 MiB again to count
    it. A body without one (chunked) is measured."""
    declared = request.get_header("Content-Length")
    if declared is not None:
        return int(declared)
    return len((request.body or "").encode())


@app.post("/validate/user")
def validate_user(request):
    if body_bytes(request) > common.MAX_BODY_BYTES:
        return error_response(413, "body over 1 MiB")
    body = request.body or ""
    try:
        data = json.loads(body)
    except ValueError:
        return error_response(400, "malformed JSON")
    if not isinstance(data, dict):
        return JSONResponse(common.errors_document([("body", "must be an object")]), status_code=422)
    try:
        user = UserModel(**data)
    except ValidationError as error:
        # Catzilla reports one message for the whole model, not a path per field.
        return JSONResponse(common.errors_document([("body", str(error))]), status_code=422)
    return JSONResponse(common.created_document(user_document(user)), status_code=201)


# --- async suite -------------------------------------------------------------------
# Async handlers run on Catzilla's asyncio bridge loop. Catzilla has no HTTP
# client; the upstream is called with aiohttp's ClientSession (keep-alive),
# made on that loop at the first call.

FIXTURE = common.write_fixture()
_upstream = []


def upstream_session():
    if not _upstream:
        host, port = common.upstream_address()
        _upstream.append(ClientSession(f"http://{host}:{port}"))
    return _upstream[0]


@app.get("/async/io")
async def async_io(request):
    start = time.perf_counter()
    await common.simulated_io()
    return JSONResponse(common.io_document(common.micros_since(start)))


@app.get("/async/fanout")
async def async_fanout(request):
    start = time.perf_counter()
    results = await common.fanout()
    return JSONResponse(common.fanout_document(results, common.micros_since(start)))


@app.get("/async/upstream")
async def async_upstream(request):
    n = common.parse_upstream_n(request.query_params.get("n"))
    async with upstream_session().get(common.upstream_target(n)) as answer:
        body = await answer.read()
    return JSONResponse(common.upstream_document(common.upstream_n(body)))


@app.get("/async/file")
async def async_file(request):
    return JSONResponse(await asyncio.get_running_loop().run_in_executor(None, common.read_fixture, FIXTURE))


@app.get("/async/cpu")
async def async_cpu(request):
    seed = common.parse_seed(request.query_params.get("seed"))
    result = await asyncio.get_running_loop().run_in_executor(CPU_POOL, common.cpu, seed)
    return JSONResponse(common.cpu_document(seed, result))


@app.get("/async/sync")
def async_sync(request):
    return JSONResponse(common.SYNC_DOCUMENT)


if __name__ == "__main__":
    app.listen(port=int(os.environ.get("CATBENCH_PORT", "8000")), host=os.environ.get("CATBENCH_HOST", "127.0.0.1"))
