"""The middleware suite on Catzilla. A layer at position p (1…10,
middleware_policy.LAYER_NAMES) has a `before` per-route middleware of the
group's routes and, when it touches the answer, an `after` function, run
after the handler by the app's post-route middleware (Catzilla has
post-route middleware only app-wide; see setup). What layers find is kept in
request._context (Catzilla's middleware guide: the app creates it). `after`
acts only on requests that entered its layer.

Catzilla sends an answer returned by per-route middleware straight away,
without post-route middleware; for the outer layers to see it, as the
contract asks, the layer that answers early hands it to the entered layers'
`after` functions itself (answer_early)."""

import time

from catzilla import JSONResponse, Response, RouterGroup

import bridge
import headers
from catbench_shared import jwt, logging_sink, middleware_policy as policy, rate_limit

group = RouterGroup()

SINK = logging_sink.LogSink()
LIMITER = rate_limit.RateLimiter()


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
    return JSONResponse(policy.error_document(message), status_code=status, headers=headers)


def request_id_before(request):
    enter(request, 1)["request_id"] = request.get_header("X-Request-Id") or policy.next_request_id()


def request_id_after(request, response):
    if entered(request, 1):
        response.set_header("X-Request-Id", request._context["request_id"])


def logging_before(request):
    enter(request, 2)["started"] = time.perf_counter()


def logging_after(request, response):
    if entered(request, 2):
        micros = logging_sink.micros_since(request._context["started"])
        SINK.append(logging_sink.LogRecord(request.method, request.path.split("?", 1)[0], response.status_code, micros))


def security_before(request):
    enter(request, 3)


def security_after(request, response):
    if entered(request, 3):
        for name, value in policy.SECURITY_HEADERS:
            response.set_header(name, value)


def cors_before(request):
    enter(request, 4)
    if policy.is_cors_preflight(request.method, request.get_header("Origin"),
                                request.get_header("Access-Control-Request-Method")):
        return answer_early(request, Response(status_code=204, headers=dict(policy.CORS_PREFLIGHT_HEADERS)))
    return None


def cors_after(request, response):
    if entered(request, 4) and request.get_header("Origin") == policy.ALLOWED_ORIGIN:
        response.set_header("Access-Control-Allow-Origin", policy.ALLOWED_ORIGIN)
        response.set_header("Vary", "Origin")


def auth_before(request):
    context = enter(request, 5)
    try:
        context["user"] = jwt.verify_jwt(request.get_header("Authorization")).subject
    except jwt.JWTRejected as rejection:
        return answer_early(request, error_response(401, rejection.reason,
                                                    {"WWW-Authenticate": policy.WWW_AUTHENTICATE}))
    return None


def rate_limit_before(request):
    context = enter(request, 6)
    decision = LIMITER.take(rate_limit.client_key(request.get_header("X-Client-Key"), context.get("user")))
    if not decision.allowed:
        return answer_early(request, error_response(429, policy.RATE_LIMITED,
                                                    {"Retry-After": str(decision.retry_after)}))
    return None


def async_context_before(request):
    enter(request, 7)["context"] = bridge.run(policy.resolve_context())


def timing_before(request):
    enter(request, 8)["timing_started"] = time.perf_counter()


def timing_after(request, response):
    if entered(request, 8):
        millis = logging_sink.micros_since(request._context["timing_started"]) / 1000
        response.set_header("Server-Timing", f"app;dur={millis}")


def cache_control_before(request):
    enter(request, 9)


def cache_control_after(request, response):
    if entered(request, 9):
        response.set_header("Cache-Control", "no-store")


def accept_guard_before(request):
    enter(request, 10)
    if not policy.accepts_json(request.get_header("Accept")):
        return answer_early(request, error_response(406, policy.NOT_ACCEPTABLE))
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
    headers.standard_headers(request, response)
    return response


def hello_handler(level):
    """GET /mw{level}/hello: what the layers in front of it found."""

    def hello(request):
        context = getattr(request, "_context", {})
        return JSONResponse(policy.hello_document(
            level, context.get("user"), context.get("request_id"), context.get("context")))

    return hello


def options(request):
    # Reached when no CORS layer answered a preflight: list the methods.
    return Response(status_code=204, headers={"Allow": policy.CORS_METHODS})


@group.get("/mw/stats")
def stats(request):
    return JSONResponse({"logged": SINK.total})


for level in policy.LEVELS:
    group.get(f"/mw{level}/hello", middleware=list(BEFORE[:level]))(hello_handler(level))
    group.options(f"/mw{level}/hello", middleware=list(BEFORE[:level]))(options)


def after_route(request, response):
    """The layers' response work, for the requests that went through a layer."""
    if getattr(request, "_context", None) is not None:
        layers_after(request, response)


def setup(app):
    # After the standard headers (priority 1): Catzilla's post-route middleware is app-wide.
    app.middleware(priority=2, pre_route=False, post_route=True)(after_route)
