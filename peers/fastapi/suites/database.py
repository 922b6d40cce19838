"""The database suite on FastAPI: async endpoints over aiosqlite, a fixed
pool of connections made in the router's lifespan, and the connection a
request-scoped dependency (`Depends` with `yield`: given back when the
request ends), as FastAPI documents a database session."""

from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from catbench_shared import database as data
from catbench_shared import runtime

pool = data.AsyncPool(runtime.pool_threads())


@asynccontextmanager
async def lifespan(app: FastAPI):
    yield {}
    await pool.close()


router = APIRouter(lifespan=lifespan)


async def session():
    db = await pool.acquire()
    try:
        yield db
    finally:
        pool.release(db)


@router.get("/db")
async def db_one(db=Depends(session)):
    return data.world_document(await data.async_world(db, data.random_id()))


@router.get("/queries")
async def queries(queries: str | None = None, db=Depends(session)):
    return await data.async_queries(db, data.query_count(queries))


@router.get("/updates")
async def updates(queries: str | None = None, db=Depends(session)):
    return await data.async_updates(db, data.query_count(queries))


@router.get("/fortunes", response_class=HTMLResponse)
async def fortunes(db=Depends(session)):
    return HTMLResponse(await data.async_fortunes(db))


@router.get("/users-with-posts")
async def users_with_posts(limit: str | None = None, offset: str | None = None, db=Depends(session)):
    return await data.async_users_with_posts(db, *data.page(limit, offset))


@router.post("/transfer")
async def transfer(request: Request, db=Depends(session)):
    args = request.query_params
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        return await data.async_transfer(db, source, target, amount)
    except data.Refused as refused:
        return JSONResponse(refused.document(), status_code=refused.status)
