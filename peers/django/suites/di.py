"""The DI suite on Django. Django has no container; its idiom is
request-scoped objects attached to the request by a middleware (as
AuthenticationMiddleware attaches a lazy `request.user`), made at first use,
and module-level singletons. The middleware applies to this suite's views
only, through `decorator_from_middleware`; the async factory is awaited
through asgiref's `async_to_sync`."""

from functools import cached_property

from asgiref.sync import async_to_sync
from django.http import JsonResponse
from django.urls import path
from django.utils.decorators import decorator_from_middleware
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.http import require_GET

from catbench_shared import di_services as services

CONFIG, CLOCK, CACHE = services.Config(), services.ServiceClock(), services.Cache()
POOL = services.ConnectionPool()


class RequestServices:
    """One request's services: each request-scoped one made at first use and then
    kept (cached_property); transients made at every call; singletons shared."""

    @cached_property
    def request_context(self) -> services.RequestContext:
        return services.RequestContext()

    @cached_property
    def db_connection(self) -> services.DBConnection:
        return POOL.acquire_blocking()

    @cached_property
    def logger(self) -> services.Logger:
        return services.Logger(self.request_context, CONFIG)

    @cached_property
    def user_repository(self) -> services.UserRepository:
        return services.UserRepository(self.db_connection, self.logger)

    @cached_property
    def token_provider(self) -> services.TokenProvider:
        return async_to_sync(services.make_token_provider)(CONFIG)

    @cached_property
    def user_service(self) -> services.UserService:
        return services.UserService(self.user_repository, CACHE, CLOCK, self.token_provider)

    def audit_event(self) -> services.AuditEvent:
        return services.AuditEvent(self.logger, CLOCK)

    def notifier(self) -> services.Notifier:
        return services.Notifier(self.user_service, self.audit_event())

    def close(self) -> None:
        """Gives the pooled connection back, if this request took one."""
        if "db_connection" in self.__dict__:
            self.db_connection.release()


class ServicesMiddleware(MiddlewareMixin):
    """Attaches `request.services` and closes them when the view has answered (or failed)."""

    def process_request(self, request):
        request.services = RequestServices()

    def process_response(self, request, response):
        request.services.close()
        return response

    def process_exception(self, request, exception):
        request.services.close()


with_services = decorator_from_middleware(ServicesMiddleware)


@require_GET
@with_services
def di_one(request):
    return JsonResponse({"request_context": request.services.request_context.id})


@require_GET
@with_services
def di_ten(request):
    s = request.services
    return JsonResponse(services.ten_document(CONFIG, CLOCK, CACHE, s.request_context, s.db_connection, s.logger,
                                            s.user_repository, s.token_provider, s.user_service, s.audit_event()))


@require_GET
@with_services
def di_graph(request):
    scope = request.services
    return JsonResponse(services.graph_document(scope.notifier(), scope.notifier(), POOL))


@require_GET
def di_pool(request):
    return JsonResponse(services.pool_document(POOL))


urlpatterns = [
    path("di/one", di_one),
    path("di/ten", di_ten),
    path("di/graph", di_graph),
    path("di/pool", di_pool),
]
