"""The files suite on Flask: send_from_directory (Werkzeug's send_file:
ETag, Last-Modified, conditional answers and ranges)."""

from flask import Blueprint, abort, send_from_directory

from catbench_shared import runtime

blueprint = Blueprint("files", __name__)


FOLDER = runtime.static_dir()


@blueprint.get("/static/<path:name>")
def static_file(name: str):
    if FOLDER is None:  # a run without the files suite
        abort(404)
    return send_from_directory(FOLDER, name)
