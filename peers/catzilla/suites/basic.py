"""The basic suite on Catzilla."""

from catzilla import JSONResponse, Response, RouterGroup

import headers
from catbench_shared import basic

group = RouterGroup()


@group.get("/plaintext")
def plaintext(request):
    return Response(body=basic.PLAINTEXT_BODY, content_type="text/plain")


@group.get("/json")
def json_message(request):
    return JSONResponse({"message": basic.JSON_MESSAGE})


@group.get("/users/{id}")
def user(request):
    # Catzilla's path parameters are untyped (a typed Path() answers 422 for
    # "abc", where the contract wants 404), so the handler reads the integer.
    user_id = basic.parse_int64(request.path_params["id"])
    if user_id is None:
        return headers.not_found(request)
    return JSONResponse(basic.user_document(user_id))


@group.get("/search")
def search(request):
    query = request.query_params
    return JSONResponse(basic.search_document(query.get("q", ""), basic.search_limit(query.get("limit"))))
