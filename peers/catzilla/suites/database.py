"""The database suite on Catzilla: sync handlers on the server's thread,
one sqlite3 connection per thread (opened on its first request and kept),
blocking calls — SQLite in process answers in microseconds, and Catzilla's
C server calls a sync handler directly."""

import threading

from catzilla import JSONResponse, Response, RouterGroup

from catbench_shared import database as data

group = RouterGroup()
local = threading.local()


def cursor():
    if not hasattr(local, "connection"):
        local.connection = data.connect()
    return local.connection.cursor()


@group.get("/db")
def db_one(request):
    return JSONResponse(data.world_document(data.world(cursor(), data.random_id())))


@group.get("/queries")
def queries(request):
    return JSONResponse(data.queries(cursor(), data.query_count(request.query_params.get("queries"))))


@group.get("/updates")
def updates(request):
    return JSONResponse(data.updates(cursor(), data.query_count(request.query_params.get("queries"))))


@group.get("/fortunes")
def fortunes(request):
    # Catzilla's HTMLResponse says text/html without the charset.
    return Response(content_type="text/html; charset=utf-8", body=data.fortunes(cursor()))


@group.get("/users-with-posts")
def users_with_posts(request):
    args = request.query_params
    return JSONResponse(data.users_with_posts(cursor(), *data.page(args.get("limit"), args.get("offset"))))


@group.post("/transfer")
def transfer(request):
    args = request.query_params
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        return JSONResponse(data.transfer(cursor(), source, target, amount))
    except data.Refused as refused:
        return JSONResponse(refused.document(), status_code=refused.status)
