"""The database suite on FastAPI through SQLAlchemy 2's async ORM (the
fastapi-sqlalchemy row): an AsyncSession per request as a dependency
(`Depends` with `yield`, closed when the request ends), as FastAPI documents
a database session; asyncpg or aiosqlite under it. The engine's pool has the
worker's share of the server's pool; it is disposed in the router's
lifespan."""

from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from catbench_shared import database as data
from catbench_shared import database_sqlalchemy as orm
from catbench_shared import runtime

engine, sessions = orm.async_sessions(runtime.pool_threads())


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield {}
    await engine.dispose()


router = APIRouter(lifespan=lifespan)


async def session():
    async with sessions() as db:
        yield db


@router.get("/db")
async def db_one(db: AsyncSession = Depends(session)):
    return orm.world_document(await orm.async_world(db, data.random_id()))


@router.get("/queries")
async def queries(queries: str | None = None, db: AsyncSession = Depends(session)):
    return await orm.async_queries(db, data.query_count(queries))


@router.get("/updates")
async def updates(queries: str | None = None, db: AsyncSession = Depends(session)):
    return await orm.async_updates(db, data.query_count(queries))


@router.get("/fortunes", response_class=HTMLResponse)
async def fortunes(db: AsyncSession = Depends(session)):
    return HTMLResponse(await orm.async_fortunes(db))


@router.get("/users-with-posts")
async def users_with_posts(limit: str | None = None, offset: str | None = None, db: AsyncSession = Depends(session)):
    return await orm.async_users_with_posts(db, *data.page(limit, offset))


@router.post("/transfer")
async def transfer(request: Request, db: AsyncSession = Depends(session)):
    args = request.query_params
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        return await orm.async_transfer(db, source, target, amount)
    except data.Refused as refused:
        return JSONResponse(refused.document(), status_code=refused.status)
