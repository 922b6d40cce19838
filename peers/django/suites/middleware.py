"""The middleware suite on Django: middleware classes (MiddlewareMixin,
process_request / process_response). Layers apply per route, so each
/mw{level} view is wrapped with the first `level` of them by
`decorator_from_middleware`, Django's way to use middleware on a per-view
basis; the project-wide MIDDLEWARE setting stays minimal. Under WSGI the hooks
run synchronously; the async layer awaits through asgiref's `async_to_sync`,
Django's documented adapter (what Django itself wraps an async middleware in
under WSGI)."""

import time

from asgiref.sync import async_to_sync
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.cache import patch_vary_headers
from django.utils.decorators import decorator_from_middleware
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.http import require_GET, require_http_methods

from catbench_shared import jwt, logging_sink, middleware_policy as policy, rate_limit

sink = logging_sink.LogSink()
limiter = rate_limit.RateLimiter()


def error_answer(status: int, message: str) -> JsonResponse:
    return JsonResponse(policy.error_document(message), status=status)


class RequestIDLayer(MiddlewareMixin):
    def process_request(self, request):
        request_id = request.headers.get("X-Request-Id")
        request.request_id = policy.next_request_id() if request_id is None else request_id

    def process_response(self, request, response):
        response["X-Request-Id"] = request.request_id
        return response


class LoggingLayer(MiddlewareMixin):
    def process_request(self, request):
        request.log_started = time.perf_counter()

    def process_response(self, request, response):
        sink.append(logging_sink.LogRecord(request.method, request.path, response.status_code,
                                     logging_sink.micros_since(request.log_started)))
        return response


class SecurityHeadersLayer(MiddlewareMixin):
    def process_response(self, request, response):
        for name, value in policy.SECURITY_HEADERS:
            response[name] = value
        return response


class CORSLayer(MiddlewareMixin):
    def process_request(self, request):
        # A preflight is answered here, before authentication: it carries no token.
        if policy.is_cors_preflight(request.method, request.headers.get("Origin"),
                                    request.headers.get("Access-Control-Request-Method")):
            preflight = HttpResponse(status=204, headers=dict(policy.CORS_PREFLIGHT_HEADERS))
            # A view decorator skips the answering layer's own process_response
            # (MIDDLEWARE would not): apply it here.
            return self.process_response(request, preflight)
        return None

    def process_response(self, request, response):
        if request.headers.get("Origin") == policy.ALLOWED_ORIGIN:
            response["Access-Control-Allow-Origin"] = policy.ALLOWED_ORIGIN
            patch_vary_headers(response, ("Origin",))
        return response


class AuthLayer(MiddlewareMixin):
    def process_request(self, request):
        try:
            request.token_subject = jwt.verify_jwt(request.headers.get("Authorization")).subject
        except jwt.JWTRejected as rejection:
            response = error_answer(401, rejection.reason)
            response["WWW-Authenticate"] = policy.WWW_AUTHENTICATE
            return response
        return None


class RateLimitLayer(MiddlewareMixin):
    def process_request(self, request):
        key = rate_limit.client_key(request.headers.get("X-Client-Key"), getattr(request, "token_subject", None))
        decision = limiter.take(key)
        if not decision.allowed:
            response = error_answer(429, policy.RATE_LIMITED)
            response["Retry-After"] = str(decision.retry_after)
            return response
        return None


class AsyncContextLayer(MiddlewareMixin):
    def process_request(self, request):
        request.async_context = async_to_sync(policy.resolve_context)()


class TimingLayer(MiddlewareMixin):
    def process_request(self, request):
        request.timing_started = time.perf_counter()

    def process_response(self, request, response):
        response["Server-Timing"] = f"app;dur={(time.perf_counter() - request.timing_started) * 1000:.3f}"
        return response


class CacheControlLayer(MiddlewareMixin):
    def process_response(self, request, response):
        response["Cache-Control"] = "no-store"
        return response


class AcceptGuardLayer(MiddlewareMixin):
    def process_request(self, request):
        if not policy.accepts_json(request.headers.get("Accept")):
            return error_answer(406, policy.NOT_ACCEPTABLE)
        return None


# Outermost first, as MiddlewarePolicy orders them.
LAYERS = (RequestIDLayer, LoggingLayer, SecurityHeadersLayer, CORSLayer, AuthLayer,
          RateLimitLayer, AsyncContextLayer, TimingLayer, CacheControlLayer, AcceptGuardLayer)


def layered_view(level: int):
    """The /mw{level}/hello view wrapped in the first `level` layers, the first outermost."""
    @require_http_methods(["GET", "OPTIONS"])
    def hello(request):
        if request.method == "OPTIONS":
            return HttpResponse(status=204, headers={"Allow": policy.CORS_METHODS})
        return JsonResponse(policy.hello_document(level, getattr(request, "token_subject", None),
                                                  getattr(request, "request_id", None),
                                                  getattr(request, "async_context", None)))

    view = hello
    for layer in reversed(LAYERS[:level]):
        view = decorator_from_middleware(layer)(view)
    return view


@require_GET
def middleware_stats(request):
    return JsonResponse({"logged": sink.total})


urlpatterns = [
    path("mw/stats", middleware_stats),
    *(path(f"mw{level}/hello", layered_view(level)) for level in policy.LEVELS),
]
