"""The database suite on Flask under gunicorn's sync workers: one sqlite3
connection per worker thread (a thread-local, opened on its first request
and kept), blocking calls."""

import threading

from flask import Blueprint, request

from catbench_shared import database as data

blueprint = Blueprint("database", __name__)
local = threading.local()


def cursor():
    if not hasattr(local, "connection"):
        local.connection = data.connect()
    return local.connection.cursor()


@blueprint.get("/db")
def db_one():
    return data.world_document(data.world(cursor(), data.random_id()))


@blueprint.get("/queries")
def queries():
    return data.queries(cursor(), data.query_count(request.args.get("queries")))


@blueprint.get("/updates")
def updates():
    return data.updates(cursor(), data.query_count(request.args.get("queries")))


@blueprint.get("/fortunes")
def fortunes():
    return data.fortunes(cursor()), 200, {"Content-Type": "text/html; charset=utf-8"}


@blueprint.get("/users-with-posts")
def users_with_posts():
    return data.users_with_posts(cursor(), *data.page(request.args.get("limit"), request.args.get("offset")))


@blueprint.post("/transfer")
def transfer():
    args = request.args
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        return data.transfer(cursor(), source, target, amount)
    except data.Refused as refused:
        return refused.document(), refused.status
