"""The basic suite on aiohttp."""

from aiohttp import web

from catbench_shared import basic

routes = web.RouteTableDef()


@routes.get("/plaintext")
async def plaintext(request):
    return web.Response(text=basic.PLAINTEXT_BODY)


@routes.get("/json")
async def json_message(request):
    return web.json_response({"message": basic.JSON_MESSAGE})


@routes.get(r"/users/{id:[+-]?[0-9]+}")
async def user(request):
    # The route admits only integer text; one beyond int64 is not a user either.
    user_id = basic.parse_int64(request.match_info["id"])
    if user_id is None:
        raise web.HTTPNotFound()
    return web.json_response(basic.user_document(user_id))


@routes.get("/search")
async def search(request):
    limit = basic.search_limit(request.query.get("limit"))
    return web.json_response(basic.search_document(request.query.get("q", ""), limit))
