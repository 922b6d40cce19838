"""The DI suite on aiohttp. aiohttp has no container: singletons live under app
keys, made at start-up; request-scoped objects live in the request's mapping,
made on first use by the provider coroutines below; transients are made at
every call. The /di sub-app's middleware closes the request scope: it gives
the pooled connection back when the handler is done."""

import functools

from aiohttp import web

from catbench_shared import di_services as services

routes = web.RouteTableDef()
# The request-scoped endpoints, served by the /di sub-app (see setup).
scoped = web.RouteTableDef()

CONFIG = web.AppKey("config", services.Config)
CLOCK = web.AppKey("clock", services.ServiceClock)
CACHE = web.AppKey("cache", services.Cache)
POOL = web.AppKey("pool", services.ConnectionPool)


def request_scoped(make):
    """A provider that makes its object once per request and keeps it in the request."""
    key = make.__name__

    @functools.wraps(make)
    async def provide(request):
        if key not in request:
            request[key] = await make(request)
        return request[key]

    return provide


@request_scoped
async def request_context(request):
    return services.RequestContext()


@request_scoped
async def db_connection(request):
    return await request.config_dict[POOL].acquire()


@request_scoped
async def logger(request):
    return services.Logger(await request_context(request), request.config_dict[CONFIG])


@request_scoped
async def user_repository(request):
    return services.UserRepository(await db_connection(request), await logger(request))


@request_scoped
async def token_provider(request):
    return await services.make_token_provider(request.config_dict[CONFIG])


@request_scoped
async def user_service(request):
    keys = request.config_dict
    return services.UserService(await user_repository(request), keys[CACHE], keys[CLOCK],
                              await token_provider(request))


async def audit_event(request):
    return services.AuditEvent(await logger(request), request.config_dict[CLOCK])


async def notifier(request):
    return services.Notifier(await user_service(request), await audit_event(request))


@web.middleware
async def request_scope(request, handler):
    try:
        return await handler(request)
    finally:
        connection = request.get(db_connection.__name__)
        if connection is not None:
            connection.release()


@scoped.get("/one")
async def di_one(request):
    return web.json_response({"request_context": (await request_context(request)).id})


@scoped.get("/ten")
async def di_ten(request):
    keys = request.config_dict
    return web.json_response(services.ten_document(
        keys[CONFIG], keys[CLOCK], keys[CACHE], await request_context(request),
        await db_connection(request), await logger(request), await user_repository(request),
        await token_provider(request), await user_service(request), await audit_event(request)))


@scoped.get("/graph")
async def di_graph(request):
    first, second = await notifier(request), await notifier(request)
    return web.json_response(services.graph_document(first, second, request.config_dict[POOL]))


@routes.get("/di/pool")
async def di_pool(request):
    return web.json_response(services.pool_document(request.config_dict[POOL]))


def setup(app):
    """The singletons as app keys, and the /di sub-app whose middleware closes the request scope."""
    app[CONFIG], app[CLOCK], app[CACHE] = services.Config(), services.ServiceClock(), services.Cache()
    app[POOL] = services.ConnectionPool()
    di = web.Application(middlewares=[request_scope])
    di.add_routes(scoped)
    app.add_subapp("/di", di)
