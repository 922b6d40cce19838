"""The catbench contract on Flask, served by gunicorn's sync workers.

Run as `gunicorn flask_app:app` (see peers.json). Business logic comes from
common.py; what is Flask's own here:

- middleware: request hooks. Each /mw{level} is a blueprint whose
  `before_request` / `after_request` hooks are the first `level` layers:
  Flask runs before-hooks in registration order and after-hooks in reverse,
  so the first layer is the outermost. As always in Flask, a before-hook that
  answers skips the remaining before-hooks and the view, but every
  after-hook still runs on that answer. The async layer is an `async def`
  before-hook, which Flask runs through asgiref (Flask's async support).
- DI: Flask has none; its idiom is request-scoped helpers memoized in
  `flask.g` (as `get_db` in Flask's tutorial), released in
  `teardown_appcontext`, and module-level singletons. The async factory is
  called through `app.ensure_sync`.
- validation: Flask has no validation library; common.py's dictionary schema
  (marshmallow-style fields and validators) over `request.get_json()`, with
  `MAX_CONTENT_LENGTH` for the 413.
- async: `async def` views (io, fan-out) run by Flask on an event loop per
  request; the upstream call is a blocking http.client call on a kept-alive
  connection; CPU work goes to a thread pool while the worker waits.
"""

import functools
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, Flask, Response, g, request

import common

app = Flask(__name__)
# Werkzeug refuses larger bodies with 413 before reading them.
app.config["MAX_CONTENT_LENGTH"] = common.MAX_BODY_BYTES
# Keep answer keys in the contract's order (Flask sorts them by default).
app.json.sort_keys = False


# ---- basic suite ----------------------------------------------------------------

@app.get("/plaintext")
def plaintext():
    return Response(common.PLAINTEXT_BODY, mimetype="text/plain")


@app.get("/json")
def json_message():
    return {"message": common.JSON_MESSAGE}


# The converter refuses non-digits and ids beyond int64 with 404.
@app.get(f"/users/<int(max={common.INT64_MAX}):user_id>")
def user(user_id: int):
    return common.user_document(user_id)


@app.get("/search")
def search():
    return common.search_document(request.args.get("q", ""), common.search_limit(request.args.get("limit")))


# ---- middleware suite: blueprint request hooks --------------------------------------

sink = common.LogSink()
limiter = common.RateLimiter()


def error_answer(status: int, message: str, headers: dict | None = None):
    return common.error_document(message), status, headers or {}


def request_id_before():
    request_id = request.headers.get("X-Request-Id")
    g.request_id = common.next_request_id() if request_id is None else request_id


def request_id_after(response):
    response.headers["X-Request-Id"] = g.request_id
    return response


def logging_before():
    g.log_started = time.perf_counter()


def logging_after(response):
    sink.append(common.LogRecord(request.method, request.path, response.status_code,
                                 common.micros_since(g.log_started)))
    return response


def security_after(response):
    for name, value in common.SECURITY_HEADERS:
        response.headers[name] = value
    return response


def cors_before():
    # A preflight is answered here, before authentication: it carries no token.
    if common.is_cors_preflight(request.method, request.headers.get("Origin"),
                                request.headers.get("Access-Control-Request-Method")):
        return Response(status=204, headers=common.CORS_PREFLIGHT_HEADERS)
    return None


def cors_after(response):
    if request.headers.get("Origin") == common.ALLOWED_ORIGIN:
        response.headers["Access-Control-Allow-Origin"] = common.ALLOWED_ORIGIN
        response.headers.add("Vary", "Origin")
    return response


def auth_before():
    try:
        g.user = common.verify_jwt(request.headers.get("Authorization")).subject
    except common.JWTRejected as rejection:
        return error_answer(401, rejection.reason, {"WWW-Authenticate": common.WWW_AUTHENTICATE})
    return None


def rate_limit_before():
    decision = limiter.take(common.client_key(request.headers.get("X-Client-Key"), g.get("user")))
    if not decision.allowed:
        return error_answer(429, common.RATE_LIMITED, {"Retry-After": str(decision.retry_after)})
    return None


async def async_context_before():
    g.context = await common.resolve_context()


def timing_before():
    g.timing_started = time.perf_counter()


def timing_after(response):
    # Flask runs this hook even when an outer before-hook answered and this
    # layer's own before-hook never ran: then there is nothing to time.
    started = g.get("timing_started")
    if started is not None:
        response.headers.add("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.3f}")
    return response


def cache_control_after(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def accept_guard_before():
    if not common.accepts_json(request.headers.get("Accept")):
        return error_answer(406, common.NOT_ACCEPTABLE)
    return None


# (before-hook, after-hook) of each layer, outermost first, as MiddlewarePolicy orders them.
LAYERS = (
    (request_id_before, request_id_after), (logging_before, logging_after), (None, security_after),
    (cors_before, cors_after), (auth_before, None), (rate_limit_before, None), (async_context_before, None),
    (timing_before, timing_after), (None, cache_control_after), (accept_guard_before, None),
)


def layered_blueprint(level: int) -> Blueprint:
    """/mw{level}/hello with the first `level` layers as the blueprint's hooks."""
    blueprint = Blueprint(f"mw{level}", __name__, url_prefix=f"/mw{level}")
    for before, after in LAYERS[:level]:
        if before:
            blueprint.before_request(before)
        if after:
            blueprint.after_request(after)

    # Declaring OPTIONS turns off Flask's automatic OPTIONS answer: the view gives its own.
    @blueprint.route("/hello", methods=["GET", "OPTIONS"])
    def hello():
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": common.CORS_METHODS})
        return common.hello_document(level, g.get("user"), g.get("request_id"), g.get("context"))

    return blueprint


for level in common.LEVELS:
    app.register_blueprint(layered_blueprint(level))


@app.get("/mw/stats")
def middleware_stats():
    return {"logged": sink.total}


# ---- DI suite: flask.g ---------------------------------------------------------------

CONFIG, CLOCK, CACHE = common.Config(), common.ServiceClock(), common.Cache()
POOL = common.ConnectionPool()


def request_scoped(factory):
    """Flask's g-memoized helper: made at the first call in a request, then the same one."""
    name = factory.__name__

    @functools.wraps(factory)
    def get():
        if name not in g:
            setattr(g, name, factory())
        return getattr(g, name)

    return get


@request_scoped
def request_context():
    return common.RequestContext()


@request_scoped
def db_connection():
    return POOL.acquire_blocking()


@app.teardown_appcontext
def release_connection(error):
    """The request's pooled connection goes back when the request ends."""
    connection = g.pop("db_connection", None)
    if connection is not None:
        connection.release()


@request_scoped
def logger():
    return common.Logger(request_context(), CONFIG)


@request_scoped
def user_repository():
    return common.UserRepository(db_connection(), logger())


@request_scoped
def token_provider():
    # Flask's bridge for calling async code from a sync view (asgiref's async_to_sync).
    return app.ensure_sync(common.make_token_provider)(CONFIG)


@request_scoped
def user_service():
    return common.UserService(user_repository(), CACHE, CLOCK, token_provider())


def audit_event():
    """Transient: a new one at every call."""
    return common.AuditEvent(logger(), CLOCK)


def notifier():
    """Transient: a new one at every call."""
    return common.Notifier(user_service(), audit_event())


@app.get("/di/one")
def di_one():
    return {"request_context": request_context().id}


@app.get("/di/ten")
def di_ten():
    return common.ten_document(CONFIG, CLOCK, CACHE, request_context(), db_connection(), logger(),
                               user_repository(), token_provider(), user_service(), audit_event())


@app.get("/di/graph")
def di_graph():
    return common.graph_document(notifier(), notifier(), POOL)


@app.get("/di/pool")
def di_pool():
    return common.pool_document(POOL)


# ---- validation suite: a dictionary schema -------------------------------------------

@app.post("/validate/user")
def validate_user():
    # get_json answers malformed JSON with 400 and, with MAX_CONTENT_LENGTH, a large body with 413.
    user, errors = common.USER_SCHEMA.load(request.get_json())
    if errors:
        return common.errors_document(errors), 422
    return common.created_document(user), 201


# ---- async suite ------------------------------------------------------------------------

FIXTURE = common.write_fixture()
upstream = common.BlockingUpstream()
cpu_pool = ThreadPoolExecutor(max_workers=common.pool_threads())


@app.get("/async/io")
async def async_io():
    started = time.perf_counter()
    await common.simulated_io()
    return common.io_document(common.micros_since(started))


@app.get("/async/fanout")
async def async_fanout():
    started = time.perf_counter()
    results = await common.fanout()
    return common.fanout_document(results, common.micros_since(started))


@app.get("/async/upstream")
def async_upstream():
    n = common.parse_upstream_n(request.args.get("n"))
    return common.upstream_document(upstream.get(n))


@app.get("/async/file")
def async_file():
    return common.read_fixture(FIXTURE)


@app.get("/async/cpu")
def async_cpu():
    seed = common.parse_seed(request.args.get("seed"))
    # The worker waits for the pool, as the threaded stack's runAndWait.
    return common.cpu_document(seed, cpu_pool.submit(common.cpu, seed).result())


@app.get("/async/sync")
def async_sync():
    return common.SYNC_DOCUMENT
