"""The DI suite on Flask. Flask has no container; its idiom is request-scoped
helpers memoized in `flask.g` (as `get_db` in Flask's tutorial), released when
the request ends (this blueprint's `teardown_request`), and module-level
singletons. The async factory is called through `app.ensure_sync` (asgiref)."""

import functools

from flask import Blueprint, current_app, g

from catbench_shared import di_services as services

blueprint = Blueprint("di", __name__)

CONFIG, CLOCK, CACHE = services.Config(), services.ServiceClock(), services.Cache()
POOL = services.ConnectionPool()


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
    return services.RequestContext()


@request_scoped
def db_connection():
    return POOL.acquire_blocking()


@blueprint.teardown_request
def release_connection(error):
    """The request's pooled connection goes back when the request ends."""
    connection = g.pop("db_connection", None)
    if connection is not None:
        connection.release()


@request_scoped
def logger():
    return services.Logger(request_context(), CONFIG)


@request_scoped
def user_repository():
    return services.UserRepository(db_connection(), logger())


@request_scoped
def token_provider():
    # Flask's bridge for calling async code from a sync view (asgiref's async_to_sync).
    return current_app.ensure_sync(services.make_token_provider)(CONFIG)


@request_scoped
def user_service():
    return services.UserService(user_repository(), CACHE, CLOCK, token_provider())


def audit_event():
    """Transient: a new one at every call."""
    return services.AuditEvent(logger(), CLOCK)


def notifier():
    """Transient: a new one at every call."""
    return services.Notifier(user_service(), audit_event())


@blueprint.get("/di/one")
def di_one():
    return {"request_context": request_context().id}


@blueprint.get("/di/ten")
def di_ten():
    return services.ten_document(CONFIG, CLOCK, CACHE, request_context(), db_connection(), logger(),
                               user_repository(), token_provider(), user_service(), audit_event())


@blueprint.get("/di/graph")
def di_graph():
    return services.graph_document(notifier(), notifier(), POOL)


@blueprint.get("/di/pool")
def di_pool():
    return services.pool_document(POOL)
