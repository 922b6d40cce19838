"""The basic suite on Flask."""

from flask import Blueprint, Response, request

from catbench_shared import basic

blueprint = Blueprint("basic", __name__)


@blueprint.get("/plaintext")
def plaintext():
    return Response(basic.PLAINTEXT_BODY, mimetype="text/plain")


@blueprint.get("/json")
def json_message():
    return {"message": basic.JSON_MESSAGE}


# The converter refuses non-digits and ids beyond int64 with 404.
@blueprint.get(f"/users/<int(max={basic.INT64_MAX}):user_id>")
def user(user_id: int):
    return basic.user_document(user_id)


@blueprint.get("/search")
def search():
    return basic.search_document(request.args.get("q", ""), basic.search_limit(request.args.get("limit")))
