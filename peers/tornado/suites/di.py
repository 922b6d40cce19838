"""The DI suite on Tornado. Tornado has no container: singletons live in the
Application's settings, made once; request-scoped objects are made on first
use and kept on the handler, which Tornado makes anew for every request
(released in on_finish); transients are made at every call."""

import functools

from catbench_shared import di_services as services
from handlers import ContractHandler


def request_scoped(make):
    """A provider made once per request and kept in the handler's scope."""
    name = make.__name__

    @functools.wraps(make)
    async def provide(self):
        if name not in self.scope:
            self.scope[name] = await make(self)
        return self.scope[name]

    return provide


class DIHandler(ContractHandler):
    def initialize(self):
        super().initialize()
        self.scope = {}
        self.services = self.settings["services"]

    def on_finish(self):
        # The end of the request scope: the pooled connection goes back.
        connection = self.scope.get("db_connection")
        if connection is not None:
            connection.release()

    @request_scoped
    async def request_context(self):
        return services.RequestContext()

    @request_scoped
    async def db_connection(self):
        return await self.services["pool"].acquire()

    @request_scoped
    async def logger(self):
        return services.Logger(await self.request_context(), self.services["config"])

    @request_scoped
    async def user_repository(self):
        return services.UserRepository(await self.db_connection(), await self.logger())

    @request_scoped
    async def token_provider(self):
        return await services.make_token_provider(self.services["config"])

    @request_scoped
    async def user_service(self):
        return services.UserService(await self.user_repository(), self.services["cache"], self.services["clock"],
                                  await self.token_provider())

    async def audit_event(self):
        return services.AuditEvent(await self.logger(), self.services["clock"])

    async def notifier(self):
        return services.Notifier(await self.user_service(), await self.audit_event())


class DIOneHandler(DIHandler):
    async def get(self):
        self.finish({"request_context": (await self.request_context()).id})


class DITenHandler(DIHandler):
    async def get(self):
        s = self.services
        self.finish(services.ten_document(
            s["config"], s["clock"], s["cache"], await self.request_context(), await self.db_connection(),
            await self.logger(), await self.user_repository(), await self.token_provider(),
            await self.user_service(), await self.audit_event()))


class DIGraphHandler(DIHandler):
    async def get(self):
        first, second = await self.notifier(), await self.notifier()
        self.finish(services.graph_document(first, second, self.services["pool"]))


class DIPoolHandler(ContractHandler):
    def get(self):
        self.finish(services.pool_document(self.settings["services"]["pool"]))


routes = [
    (r"/di/one", DIOneHandler),
    (r"/di/ten", DITenHandler),
    (r"/di/graph", DIGraphHandler),
    (r"/di/pool", DIPoolHandler),
]


def settings():
    singletons = {"config": services.Config(), "clock": services.ServiceClock(), "cache": services.Cache(),
                  "pool": services.ConnectionPool()}
    return {"services": singletons}
