"""The database suite on Flask through SQLAlchemy 2's ORM (the
flask-sqlalchemy row; plain SQLAlchemy, not the Flask-SQLAlchemy extension,
as Flask's own documentation shows it): a scoped_session, one session per
request, removed when the request ends; gunicorn's sync workers, blocking
calls. The engine's pool has the worker's share of the server's pool."""

from flask import Blueprint, request
from sqlalchemy.orm import scoped_session

from catbench_shared import database as data
from catbench_shared import database_sqlalchemy as orm
from catbench_shared import runtime

blueprint = Blueprint("database", __name__)
session = scoped_session(orm.sync_sessions(runtime.pool_threads()))


@blueprint.teardown_request
def remove_session(exception=None):
    session.remove()


@blueprint.get("/db")
def db_one():
    return orm.world_document(orm.world(session, data.random_id()))


@blueprint.get("/queries")
def queries():
    return orm.queries(session, data.query_count(request.args.get("queries")))


@blueprint.get("/updates")
def updates():
    return orm.updates(session, data.query_count(request.args.get("queries")))


@blueprint.get("/fortunes")
def fortunes():
    return orm.fortunes(session), 200, {"Content-Type": "text/html; charset=utf-8"}


@blueprint.get("/users-with-posts")
def users_with_posts():
    return orm.users_with_posts(session, *data.page(request.args.get("limit"), request.args.get("offset")))


@blueprint.post("/transfer")
def transfer():
    args = request.args
    try:
        source, target, amount = data.transfer_params(args.get("from"), args.get("to"), args.get("amount"))
        return orm.transfer(session, source, target, amount)
    except data.Refused as refused:
        return refused.document(), refused.status
