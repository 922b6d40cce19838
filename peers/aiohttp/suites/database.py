"""The database suite on aiohttp: native coroutines over aiosqlite, a fixed
pool of connections per worker (opened on the first request, closed by a
clean-up context), one connection per request."""

from aiohttp import web

from catbench_shared import database as data
from catbench_shared import runtime

POOL = web.AppKey("database_pool", data.AsyncPool)

routes = web.RouteTableDef()


async def with_db(request, work):
    pool = request.app[POOL]
    db = await pool.acquire()
    try:
        return await work(db)
    finally:
        pool.release(db)


@routes.get("/db")
async def db_one(request):
    row = await with_db(request, lambda db: data.async_world(db, data.random_id()))
    return web.json_response(data.world_document(row))


@routes.get("/queries")
async def queries(request):
    count = data.query_count(request.query.get("queries"))
    return web.json_response(await with_db(request, lambda db: data.async_queries(db, count)))


@routes.get("/updates")
async def updates(request):
    count = data.query_count(request.query.get("queries"))
    return web.json_response(await with_db(request, lambda db: data.async_updates(db, count)))


@routes.get("/fortunes")
async def fortunes(request):
    page = await with_db(request, data.async_fortunes)
    return web.Response(text=page, content_type="text/html", charset="utf-8")


@routes.get("/users-with-posts")
async def users_with_posts(request):
    limit, offset = data.page(request.query.get("limit"), request.query.get("offset"))
    return web.json_response(await with_db(request, lambda db: data.async_users_with_posts(db, limit, offset)))


@routes.post("/transfer")
async def transfer(request):
    args = request.query
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        return web.json_response(await with_db(request, lambda db: data.async_transfer(db, source, target, amount)))
    except data.Refused as refused:
        return web.json_response(refused.document(), status=refused.status)


async def pool(app):
    app[POOL] = data.AsyncPool(runtime.pool_threads())
    yield
    await app[POOL].close()


def setup(app):
    app.cleanup_ctx.append(pool)
