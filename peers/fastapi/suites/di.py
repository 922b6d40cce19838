"""The DI suite on FastAPI: `Depends` with its per-request cache. Singletons
are module-level instances, request scope is the default cache, transients
are `use_cache=False`, the pooled connection is a yield dependency, the token
provider an async dependency."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, create_model

from catbench_shared import di_services as services

router = APIRouter()

# Every provider is `async def`: none blocks, and FastAPI would run a plain
# `def` dependency in its thread pool.

CONFIG, CLOCK, CACHE = services.Config(), services.ServiceClock(), services.Cache()
POOL = services.ConnectionPool()


async def config() -> services.Config:
    return CONFIG


async def clock() -> services.ServiceClock:
    return CLOCK


async def cache() -> services.Cache:
    return CACHE


async def connection_pool() -> services.ConnectionPool:
    return POOL


async def request_context() -> services.RequestContext:
    return services.RequestContext()


async def db_connection(pool: Annotated[services.ConnectionPool, Depends(connection_pool)]):
    """The request's pooled connection, given back when the request is done."""
    connection = await pool.acquire()
    try:
        yield connection
    finally:
        connection.release()


ConfigDep = Annotated[services.Config, Depends(config)]
ClockDep = Annotated[services.ServiceClock, Depends(clock)]
CacheDep = Annotated[services.Cache, Depends(cache)]
RequestContextDep = Annotated[services.RequestContext, Depends(request_context)]
DBConnectionDep = Annotated[services.DBConnection, Depends(db_connection)]


async def logger(context: RequestContextDep, settings: ConfigDep) -> services.Logger:
    return services.Logger(context, settings)


LoggerDep = Annotated[services.Logger, Depends(logger)]


async def user_repository(connection: DBConnectionDep, log: LoggerDep) -> services.UserRepository:
    return services.UserRepository(connection, log)


async def token_provider(settings: ConfigDep) -> services.TokenProvider:
    return await services.make_token_provider(settings)


UserRepositoryDep = Annotated[services.UserRepository, Depends(user_repository)]
TokenProviderDep = Annotated[services.TokenProvider, Depends(token_provider)]


async def user_service(repository: UserRepositoryDep, shared_cache: CacheDep, service_clock: ClockDep,
                       tokens: TokenProviderDep) -> services.UserService:
    return services.UserService(repository, shared_cache, service_clock, tokens)


UserServiceDep = Annotated[services.UserService, Depends(user_service)]


async def audit_event(log: LoggerDep, service_clock: ClockDep) -> services.AuditEvent:
    return services.AuditEvent(log, service_clock)


# Transient: use_cache=False makes every injection a new instance.
AuditEventDep = Annotated[services.AuditEvent, Depends(audit_event, use_cache=False)]


async def notifier(users: UserServiceDep, audit: AuditEventDep) -> services.Notifier:
    return services.Notifier(users, audit)


NotifierDep = Annotated[services.Notifier, Depends(notifier, use_cache=False)]


class OneAnswer(BaseModel):
    request_context: str


# The ten services' ids, keyed as services.TEN says.
TenAnswer = create_model("TenAnswer", **{key: str for _, key in services.TEN})


class GraphAnswer(BaseModel):
    # Each resolution maps a service (as Notifier.graph() names them) to its instance's id.
    resolutions: list[dict[str, str]]
    pool_in_use: int


class PoolAnswer(BaseModel):
    size: int
    in_use: int


@router.get("/di/one", response_model=OneAnswer)
async def di_one(context: RequestContextDep):
    return {"request_context": context.id}


@router.get("/di/ten", response_model=TenAnswer)
async def di_ten(settings: ConfigDep, service_clock: ClockDep, shared_cache: CacheDep, context: RequestContextDep,
                 connection: DBConnectionDep, log: LoggerDep, repository: UserRepositoryDep,
                 tokens: TokenProviderDep, users: UserServiceDep, audit: AuditEventDep):
    return services.ten_document(settings, service_clock, shared_cache, context, connection, log,
                               repository, tokens, users, audit)


@router.get("/di/graph", response_model=GraphAnswer)
async def di_graph(first: NotifierDep, second: NotifierDep):
    return services.graph_document(first, second, POOL)


@router.get("/di/pool", response_model=PoolAnswer)
async def di_pool():
    return services.pool_document(POOL)
