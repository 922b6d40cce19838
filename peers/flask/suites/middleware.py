"""The middleware suite on Flask: request hooks. Each /mw{level} is a blueprint
nested in this suite's blueprint, whose `before_request` / `after_request`
hooks are the first `level` layers: Flask runs before-hooks in registration
order and after-hooks in reverse, so the first layer is the outermost. As
always in Flask, a before-hook that answers skips the remaining before-hooks
and the view, but every after-hook still runs on that answer. The async layer
is an `async def` before-hook, which Flask runs through asgiref (Flask's async
support). The suite's own blueprint has no hooks, so nothing applies to
/mw/stats."""

import time

from flask import Blueprint, Response, g, request

from catbench_shared import jwt, logging_sink, middleware_policy as policy, rate_limit

blueprint = Blueprint("middleware", __name__)

sink = logging_sink.LogSink()
limiter = rate_limit.RateLimiter()


def error_answer(status: int, message: str, headers: dict | None = None):
    return policy.error_document(message), status, headers or {}


def request_id_before():
    request_id = request.headers.get("X-Request-Id")
    g.request_id = policy.next_request_id() if request_id is None else request_id


def request_id_after(response):
    response.headers["X-Request-Id"] = g.request_id
    return response


def logging_before():
    g.log_started = time.perf_counter()


def logging_after(response):
    sink.append(logging_sink.LogRecord(request.method, request.path, response.status_code,
                                 logging_sink.micros_since(g.log_started)))
    return response


def security_after(response):
    for name, value in policy.SECURITY_HEADERS:
        response.headers[name] = value
    return response


def cors_before():
    # A preflight is answered here, before authentication: it carries no token.
    if policy.is_cors_preflight(request.method, request.headers.get("Origin"),
                                request.headers.get("Access-Control-Request-Method")):
        return Response(status=204, headers=policy.CORS_PREFLIGHT_HEADERS)
    return None


def cors_after(response):
    if request.headers.get("Origin") == policy.ALLOWED_ORIGIN:
        response.headers["Access-Control-Allow-Origin"] = policy.ALLOWED_ORIGIN
        response.headers.add("Vary", "Origin")
    return response


def auth_before():
    try:
        g.user = jwt.verify_jwt(request.headers.get("Authorization")).subject
    except jwt.JWTRejected as rejection:
        return error_answer(401, rejection.reason, {"WWW-Authenticate": policy.WWW_AUTHENTICATE})
    return None


def rate_limit_before():
    decision = limiter.take(rate_limit.client_key(request.headers.get("X-Client-Key"), g.get("user")))
    if not decision.allowed:
        return error_answer(429, policy.RATE_LIMITED, {"Retry-After": str(decision.retry_after)})
    return None


async def async_context_before():
    g.context = await policy.resolve_context()


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
    if not policy.accepts_json(request.headers.get("Accept")):
        return error_answer(406, policy.NOT_ACCEPTABLE)
    return None


# (before-hook, after-hook) of each layer, outermost first, as MiddlewarePolicy orders them.
LAYERS = (
    (request_id_before, request_id_after), (logging_before, logging_after), (None, security_after),
    (cors_before, cors_after), (auth_before, None), (rate_limit_before, None), (async_context_before, None),
    (timing_before, timing_after), (None, cache_control_after), (accept_guard_before, None),
)


def layered_blueprint(level: int) -> Blueprint:
    """/mw{level}/hello with the first `level` layers as the blueprint's hooks."""
    layered = Blueprint(f"mw{level}", __name__, url_prefix=f"/mw{level}")
    for before, after in LAYERS[:level]:
        if before:
            layered.before_request(before)
        if after:
            layered.after_request(after)

    # Declaring OPTIONS turns off Flask's automatic OPTIONS answer: the view gives its own.
    @layered.route("/hello", methods=["GET", "OPTIONS"])
    def hello():
        if request.method == "OPTIONS":
            return Response(status=204, headers={"Allow": policy.CORS_METHODS})
        return policy.hello_document(level, g.get("user"), g.get("request_id"), g.get("context"))

    return layered


for level in policy.LEVELS:
    blueprint.register_blueprint(layered_blueprint(level))


@blueprint.get("/mw/stats")
def middleware_stats():
    return {"logged": sink.total}
