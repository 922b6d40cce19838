"""The catbench contract on Django, a single-file project served by gunicorn's
sync workers (WSGI).

Run as `gunicorn django_app:application` (see peers.json). Business logic comes
from common.py; what is Django's own here:

- middleware: middleware classes (MiddlewareMixin, process_request /
  process_response). Layers apply per route, so each /mw{level} view is
  wrapped with the first `level` of them by `decorator_from_middleware`,
  Django's way to use middleware on a per-view basis; the project-wide
  MIDDLEWARE setting stays minimal. Under WSGI the hooks run synchronously;
  the async layer awaits through asgiref's `async_to_sync`, Django's
  documented adapter (what Django itself wraps an async middleware in under WSGI).
- DI: Django has none; its idiom is request-scoped objects attached to the
  request by a middleware (as AuthenticationMiddleware attaches a lazy
  `request.user`), made at first use, and module-level singletons. The async
  factory is awaited through `async_to_sync`.
- validation: Django forms are made for flat, string-valued form data
  (BooleanField takes "yes", CharField takes 7 as "7", nested objects and
  lists of objects need formsets with management-form keys), so the typed,
  nested JSON is checked by common.py's dictionary schema; the 413 comes from
  DATA_UPLOAD_MAX_MEMORY_SIZE.
- async: async views (io, fan-out), which Django runs under WSGI in an event
  loop of their own; the upstream call is a blocking http.client call on a
  kept-alive connection; CPU work goes to a thread pool while the worker waits.
"""

import json
import os
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from asgiref.sync import async_to_sync
from django.conf import settings

import common


def allowed_hosts() -> list[str]:
    """Loopback names and the host catbench binds; any host when it binds every interface."""
    host = os.environ.get("CATBENCH_HOST", "127.0.0.1")
    if host in ("0.0.0.0", "::"):
        return ["*"]
    return ["127.0.0.1", "localhost", "[::1]", f"[{host}]" if ":" in host else host]


settings.configure(
    DEBUG=False,
    ALLOWED_HOSTS=allowed_hosts(),
    SECRET_KEY=secrets.token_urlsafe(32),  # nothing is signed; Django only wants one
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    # CommonMiddleware sets Content-Length, which Django's responses lack otherwise.
    MIDDLEWARE=["django.middleware.common.CommonMiddleware", f"{__name__}.ServicesMiddleware"],
    # request.body raises RequestDataTooBig beyond this.
    DATA_UPLOAD_MAX_MEMORY_SIZE=common.MAX_BODY_BYTES,
    USE_I18N=False,  # nothing is translated: skip the translation machinery
)

import django  # noqa: E402  (settings first)

django.setup()

from django.core.exceptions import RequestDataTooBig  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse, JsonResponse  # noqa: E402
from django.urls import path, register_converter  # noqa: E402
from django.utils.cache import patch_vary_headers  # noqa: E402
from django.utils.decorators import decorator_from_middleware  # noqa: E402
from django.utils.deprecation import MiddlewareMixin  # noqa: E402
from django.views.decorators.http import require_GET, require_http_methods, require_POST  # noqa: E402


# ---- basic suite ----------------------------------------------------------------

class Int64Converter:
    """A path segment of digits within int64; anything else does not match (404)."""
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > common.INT64_MAX:
            raise ValueError("beyond int64")  # Django's signal for "no match"
        return number

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(Int64Converter, "int64")


@require_GET
def plaintext(request):
    return HttpResponse(common.PLAINTEXT_BODY, content_type="text/plain")


@require_GET
def json_message(request):
    return JsonResponse({"message": common.JSON_MESSAGE})


@require_GET
def user(request, user_id: int):
    return JsonResponse(common.user_document(user_id))


@require_GET
def search(request):
    return JsonResponse(common.search_document(request.GET.get("q", ""), common.search_limit(request.GET.get("limit"))))


# ---- middleware suite: middleware classes, per view ------------------------------

sink = common.LogSink()
limiter = common.RateLimiter()


def error_answer(status: int, message: str) -> JsonResponse:
    return JsonResponse(common.error_document(message), status=status)


class RequestIDLayer(MiddlewareMixin):
    def process_request(self, request):
        request_id = request.headers.get("X-Request-Id")
        request.request_id = common.next_request_id() if request_id is None else request_id

    def process_response(self, request, response):
        response["X-Request-Id"] = request.request_id
        return response


class LoggingLayer(MiddlewareMixin):
    def process_request(self, request):
        request.log_started = time.perf_counter()

    def process_response(self, request, response):
        sink.append(common.LogRecord(request.method, request.path, response.status_code,
                                     common.micros_since(request.log_started)))
        return response


class SecurityHeadersLayer(MiddlewareMixin):
    def process_response(self, request, response):
        for name, value in common.SECURITY_HEADERS:
            response[name] = value
        return response


class CORSLayer(MiddlewareMixin):
    def process_request(self, request):
        # A preflight is answered here, before authentication: it carries no token.
        if common.is_cors_preflight(request.method, request.headers.get("Origin"),
                                    request.headers.get("Access-Control-Request-Method")):
            preflight = HttpResponse(status=204, headers=dict(common.CORS_PREFLIGHT_HEADERS))
            # A view decorator skips the answering layer's own process_response
            # (MIDDLEWARE would not): apply it here.
            return self.process_response(request, preflight)
        return None

    def process_response(self, request, response):
        if request.headers.get("Origin") == common.ALLOWED_ORIGIN:
            response["Access-Control-Allow-Origin"] = common.ALLOWED_ORIGIN
            patch_vary_headers(response, ("Origin",))
        return response


class AuthLayer(MiddlewareMixin):
    def process_request(self, request):
        try:
            request.token_subject = common.verify_jwt(request.headers.get("Authorization")).subject
        except common.JWTRejected as rejection:
            response = error_answer(401, rejection.reason)
            response["WWW-Authenticate"] = common.WWW_AUTHENTICATE
            return response
        return None


class RateLimitLayer(MiddlewareMixin):
    def process_request(self, request):
        key = common.client_key(request.headers.get("X-Client-Key"), getattr(request, "token_subject", None))
        decision = limiter.take(key)
        if not decision.allowed:
            response = error_answer(429, common.RATE_LIMITED)
            response["Retry-After"] = str(decision.retry_after)
            return response
        return None


class AsyncContextLayer(MiddlewareMixin):
    def process_request(self, request):
        request.async_context = async_to_sync(common.resolve_context)()


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
        if not common.accepts_json(request.headers.get("Accept")):
            return error_answer(406, common.NOT_ACCEPTABLE)
        return None


# Outermost first, as MiddlewarePolicy orders them.
LAYERS = (RequestIDLayer, LoggingLayer, SecurityHeadersLayer, CORSLayer, AuthLayer,
          RateLimitLayer, AsyncContextLayer, TimingLayer, CacheControlLayer, AcceptGuardLayer)


def layered_view(level: int):
    """The /mw{level}/hello view wrapped in the first `level` layers, the first outermost."""
    @require_http_methods(["GET", "OPTIONS"])
    def hello(request):
        if request.method == "OPTIONS":
            return HttpResponse(status=204, headers={"Allow": common.CORS_METHODS})
        return JsonResponse(common.hello_document(level, getattr(request, "token_subject", None),
                                                  getattr(request, "request_id", None),
                                                  getattr(request, "async_context", None)))

    view = hello
    for layer in reversed(LAYERS[:level]):
        view = decorator_from_middleware(layer)(view)
    return view


@require_GET
def middleware_stats(request):
    return JsonResponse({"logged": sink.total})


# ---- DI suite: request-scoped services attached by a middleware -----------------------

CONFIG, CLOCK, CACHE = common.Config(), common.ServiceClock(), common.Cache()
POOL = common.ConnectionPool()


class RequestServices:
    """One request's services: each request-scoped one made at first use and then
    kept (cached_property); transients made at every call; singletons shared."""

    @cached_property
    def request_context(self) -> common.RequestContext:
        return common.RequestContext()

    @cached_property
    def db_connection(self) -> common.DBConnection:
        return POOL.acquire_blocking()

    @cached_property
    def logger(self) -> common.Logger:
        return common.Logger(self.request_context, CONFIG)

    @cached_property
    def user_repository(self) -> common.UserRepository:
        return common.UserRepository(self.db_connection, self.logger)

    @cached_property
    def token_provider(self) -> common.TokenProvider:
        return async_to_sync(common.make_token_provider)(CONFIG)

    @cached_property
    def user_service(self) -> common.UserService:
        return common.UserService(self.user_repository, CACHE, CLOCK, self.token_provider)

    def audit_event(self) -> common.AuditEvent:
        return common.AuditEvent(self.logger, CLOCK)

    def notifier(self) -> common.Notifier:
        return common.Notifier(self.user_service, self.audit_event())

    def close(self) -> None:
        """Gives the pooled connection back, if this request took one."""
        if "db_connection" in self.__dict__:
            self.db_connection.release()


class ServicesMiddleware:
    """Attaches `request.services` and closes them when the view has answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.services = RequestServices()
        try:
            return self.get_response(request)
        finally:
            request.services.close()


@require_GET
def di_one(request):
    return JsonResponse({"request_context": request.services.request_context.id})


@require_GET
def di_ten(request):
    s = request.services
    return JsonResponse(common.ten_document(CONFIG, CLOCK, CACHE, s.request_context, s.db_connection, s.logger,
                                            s.user_repository, s.token_provider, s.user_service, s.audit_event()))


@require_GET
def di_graph(request):
    services = request.services
    return JsonResponse(common.graph_document(services.notifier(), services.notifier(), POOL))


@require_GET
def di_pool(request):
    return JsonResponse(common.pool_document(POOL))


# ---- validation suite: a dictionary schema --------------------------------------------

@require_POST
def validate_user(request):
    try:
        document = json.loads(request.body)
    except RequestDataTooBig:
        return error_answer(413, "the body is over 1 MiB")
    except ValueError:
        return error_answer(400, "malformed JSON")
    user, errors = common.USER_SCHEMA.load(document)
    if errors:
        return JsonResponse(common.errors_document(errors), status=422)
    return JsonResponse(common.created_document(user), status=201)


# ---- async suite ------------------------------------------------------------------------

FIXTURE = common.write_fixture()
upstream = common.BlockingUpstream()
cpu_pool = ThreadPoolExecutor(max_workers=common.pool_threads())


@require_GET
async def async_io(request):
    started = time.perf_counter()
    await common.simulated_io()
    return JsonResponse(common.io_document(common.micros_since(started)))


@require_GET
async def async_fanout(request):
    started = time.perf_counter()
    results = await common.fanout()
    return JsonResponse(common.fanout_document(results, common.micros_since(started)))


@require_GET
def async_upstream(request):
    n = common.parse_upstream_n(request.GET.get("n"))
    return JsonResponse(common.upstream_document(upstream.get(n)))


@require_GET
def async_file(request):
    return JsonResponse(common.read_fixture(FIXTURE))


@require_GET
def async_cpu(request):
    seed = common.parse_seed(request.GET.get("seed"))
    # The worker waits for the pool, as the threaded stack's runAndWait.
    return JsonResponse(common.cpu_document(seed, cpu_pool.submit(common.cpu, seed).result()))


@require_GET
def async_sync(request):
    return JsonResponse(common.SYNC_DOCUMENT)


# ---- URLs ------------------------------------------------------------------------------------

def not_found(request, exception):
    return error_answer(404, "not found")


handler404 = not_found

urlpatterns = [
    path("plaintext", plaintext),
    path("json", json_message),
    path("users/<int64:user_id>", user),
    path("search", search),
    path("mw/stats", middleware_stats),
    *(path(f"mw{level}/hello", layered_view(level)) for level in common.LEVELS),
    path("di/one", di_one),
    path("di/ten", di_ten),
    path("di/graph", di_graph),
    path("di/pool", di_pool),
    path("validate/user", validate_user),
    path("async/io", async_io),
    path("async/fanout", async_fanout),
    path("async/upstream", async_upstream),
    path("async/file", async_file),
    path("async/cpu", async_cpu),
    path("async/sync", async_sync),
]

application = get_wsgi_application()
