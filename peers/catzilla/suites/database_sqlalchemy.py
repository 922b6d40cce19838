"""The database suite on Catzilla through SQLAlchemy 2's async ORM (the
catzilla-sqlalchemy row), the way Catzilla's own SQLAlchemy examples put it:
the engine and its async_sessionmaker a singleton service of Catzilla's DI
container, an AsyncSession a request-scoped service (Catzilla's DIContainer
makes one at each resolution: one per request here), handed to async
handlers by Depends, resolved by Catzilla's DIRouteEnhancer (include_routes
does not apply it, so the group's handlers are enhanced here). Unlike the
examples: a QueuePool of the whole server's pool size (Catzilla serves from
one process) rather than StaticPool, no echo, and the session is closed when
the handler ends (`async with`), which gives its connection back. Async
handlers run on Catzilla's asyncio bridge loop, where the engine's
connections (asyncpg or aiosqlite) live."""

from catzilla import DIContainer, Depends, JSONResponse, Response, RouterGroup
from catzilla.integration import DIRouteEnhancer

from catbench_shared import database as data
from catbench_shared import database_sqlalchemy as orm
from catbench_shared import runtime

group = RouterGroup()
CONTAINER = DIContainer()
injected = DIRouteEnhancer(CONTAINER).enhance_route


class Database:
    """The engine and its session factory, made once."""

    def __init__(self):
        self.engine, self.sessions = orm.async_sessions(runtime.server_pool_size())


def open_session(database):
    return database.sessions()


CONTAINER.register("database", Database, "singleton")
CONTAINER.register("session", open_session, "request")


@group.get("/db")
@injected
async def db_one(request, session=Depends("session")):
    async with session:
        return JSONResponse(orm.world_document(await orm.async_world(session, data.random_id())))


@group.get("/queries")
@injected
async def queries(request, session=Depends("session")):
    async with session:
        return JSONResponse(await orm.async_queries(session, data.query_count(request.query_params.get("queries"))))


@group.get("/updates")
@injected
async def updates(request, session=Depends("session")):
    async with session:
        return JSONResponse(await orm.async_updates(session, data.query_count(request.query_params.get("queries"))))


@group.get("/fortunes")
@injected
async def fortunes(request, session=Depends("session")):
    async with session:
        # Catzilla's HTMLResponse says text/html without the charset.
        return Response(content_type="text/html; charset=utf-8", body=await orm.async_fortunes(session))


@group.get("/users-with-posts")
@injected
async def users_with_posts(request, session=Depends("session")):
    args = request.query_params
    async with session:
        return JSONResponse(
            await orm.async_users_with_posts(session, *data.page(args.get("limit"), args.get("offset")))
        )


@group.post("/transfer")
@injected
async def transfer(request, session=Depends("session")):
    args = request.query_params
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        async with session:
            return JSONResponse(await orm.async_transfer(session, source, target, amount))
    except data.Refused as refused:
        return JSONResponse(refused.document(), status_code=refused.status)
