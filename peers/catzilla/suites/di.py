"""The DI suite on Catzilla. Services are registered on a Catzilla container;
classes get their constructor arguments by parameter name (Logger(context,
config) needs the services "context" and "config"), handlers by
Depends("name"), resolved by Catzilla's DIRouteEnhancer (what the app's route
decorators apply; include_routes does not, so the group's handlers are
enhanced here).

Catzilla's default DIContainer makes a new "request"-scoped instance at every
resolution (it caches singletons only), so the suite uses catzilla.scope's
ScopedDIContainer, whose scope manager keeps one instance per active request
scope and calls cleanup() on them when the scope ends. Per-route middleware
opens the scope, the app's post-route middleware closes it (sync handlers:
one thread)."""

import itertools

from catzilla import Depends, JSONResponse, RouterGroup, ScopedDIContainer
from catzilla.integration import DIRouteEnhancer
from catzilla.scope import ScopeType, get_scope_manager

import bridge
from catbench_shared import di_services as services

group = RouterGroup()
CONTAINER = ScopedDIContainer()
injected = DIRouteEnhancer(CONTAINER).enhance_route

POOL = services.ConnectionPool()
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
    return bridge.run(services.make_token_provider(config))


SERVICES = (
    ("config", services.Config, "singleton"), ("clock", services.ServiceClock, "singleton"),
    ("cache", services.Cache, "singleton"), ("pool", the_pool, "singleton"),
    ("context", services.RequestContext, "request"), ("connection", lease_connection, "request"),
    ("logger", services.Logger, "request"), ("repository", services.UserRepository, "request"),
    ("tokens", make_tokens, "request"), ("users", services.UserService, "request"),
    ("audit", services.AuditEvent, "transient"), ("notifier", services.Notifier, "transient"),
)


def open_request_scope(request):
    request._di_scope = f"request-{next(_scope_ids)}"
    SCOPES.create_scope(request._di_scope, ScopeType.REQUEST)
    SCOPES.activate_scope(request._di_scope)


def close_request_scope(request):
    """The end of the request scope: cleanup() gives the pooled connection back."""
    SCOPES.cleanup_scope(request._di_scope)


for name, factory, scope in SERVICES:
    CONTAINER.register(name, factory, scope)


@group.get("/di/one", middleware=[open_request_scope])
@injected
def di_one(request, context=Depends("context")):
    return JSONResponse({"request_context": context.id})


@group.get("/di/ten", middleware=[open_request_scope])
@injected
def di_ten(request, config=Depends("config"), clock=Depends("clock"), cache=Depends("cache"),
           context=Depends("context"), connection=Depends("connection"), logger=Depends("logger"),
           repository=Depends("repository"), tokens=Depends("tokens"), users=Depends("users"),
           audit=Depends("audit")):
    return JSONResponse(services.ten_document(config, clock, cache, context, connection, logger,
                                            repository, tokens, users, audit))


@group.get("/di/graph", middleware=[open_request_scope])
@injected
def di_graph(request, first=Depends("notifier"), second=Depends("notifier")):
    return JSONResponse(services.graph_document(first, second, POOL))


@group.get("/di/pool")
def di_pool(request):
    return JSONResponse(services.pool_document(POOL))


def after_route(request, response):
    """The end of the DI scope, for the requests that opened one."""
    if getattr(request, "_di_scope", None) is not None:
        close_request_scope(request)


def setup(app):
    # After the standard headers and the middleware layers: the scope closes last.
    app.middleware(priority=3, pre_route=False, post_route=True)(after_route)
