"""The validation suite on Flask. Flask has no validation library of its own:
the view loads `request.get_json()` with the schema of the library the app
was made with (app.config["CATBENCH_VALIDATOR"]: marshmallow or Cerberus, see
schemas/). get_json answers malformed JSON with 400; the view's own
`request.max_content_length` (Flask 3.1) refuses a body over 1 MiB with 413
before it is read."""

from flask import Blueprint, current_app, request
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from catbench_shared import validation_model as model
from schemas import cerberus_user, marshmallow_user

blueprint = Blueprint("validation", __name__)

SCHEMAS = {"marshmallow": marshmallow_user, "cerberus": cerberus_user}


@blueprint.post("/validate/user")
def validate_user():
    request.max_content_length = model.MAX_BODY_BYTES
    try:
        document = request.get_json()
    except RequestEntityTooLarge:
        return model.TOO_LARGE, 413
    except BadRequest:
        return model.MALFORMED_JSON, 400
    user, errors = SCHEMAS[current_app.config["CATBENCH_VALIDATOR"]].load(document)
    if errors:
        return model.errors_document(errors), 422
    return model.created_document(user), 201
