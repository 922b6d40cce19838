"""The validation suite on Tornado. The plan names no validation library for
Tornado; this peer uses jsonschema, as tornado-json does: a JSON Schema
(Draft 2020-12) of the user, checked by one validator whose iter_errors lists
every failing field with its location. JSON Schema checks and does not
transform, so the name's and the email's rules are patterns that allow the
whitespace the normalization trims, and the answer is built from the checked
document by validation_model.normalized_user."""

import json

from jsonschema import Draft202012Validator

from catbench_shared import validation_model as model
from handlers import ContractHandler


def text(bounds, kind="string"):
    return {"type": kind, "minLength": bounds[0], "maxLength": bounds[1]}


def pattern(regex, kind="string"):
    return {"type": kind, "pattern": regex}


def within(bounds, kind):
    return {"type": kind, "minimum": bounds[0], "maximum": bounds[1]}


ADDRESS = {
    "type": "object",
    "required": ["street", "city", "zip", "country"],
    "properties": {
        "street": text(model.STREET_LENGTH), "city": text(model.CITY_LENGTH),
        "zip": pattern(model.ZIP_PATTERN), "country": pattern(model.COUNTRY_PATTERN),
    },
}

ITEM = {
    "type": "object",
    "required": ["sku", "quantity", "price"],
    "properties": {
        "sku": pattern(model.SKU_PATTERN),
        "quantity": within(model.QUANTITY_RANGE, "integer"),
        "price": within(model.PRICE_RANGE, "number"),
        # A null counts as absent (as on the stacks): optional fields take it.
        "tags": {"type": ["array", "null"], "maxItems": model.TAGS_MAX, "items": text(model.TAG_LENGTH)},
    },
}

USER = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "email", "age", "username", "address", "items"],
    "properties": {
        "name": pattern(model.UNTRIMMED_NAME_PATTERN),
        "email": pattern(model.UNTRIMMED_EMAIL_PATTERN),
        "age": within(model.AGE_RANGE, "integer"),
        "username": pattern(model.USERNAME_PATTERN),
        "nickname": {"type": ["string", "null"], "maxLength": model.NICKNAME_MAX},
        "newsletter": {"type": ["boolean", "null"]},
        "address": ADDRESS,
        "items": {"type": "array", "minItems": model.ITEM_COUNT[0], "maxItems": model.ITEM_COUNT[1], "items": ITEM},
    },
}

Draft202012Validator.check_schema(USER)
VALIDATOR = Draft202012Validator(USER)


def failures(document):
    """Every failing field as (location, message). A `required` failure is
    located at its object; the field it misses is named in the location here."""
    found = {}
    for error in VALIDATOR.iter_errors(document):
        location = tuple(error.absolute_path)
        if error.validator == "required":
            for name in error.validator_value:
                if name not in error.instance:
                    found.setdefault((*location, name), f"{name!r} is a required property")
        else:
            found.setdefault(location, error.message)
    return list(found.items())


class ValidateUserHandler(ContractHandler):
    def post(self):
        body = self.request.body
        if len(body) > model.MAX_BODY_BYTES:
            self.answer(model.TOO_LARGE, 413)
            return
        try:
            document = json.loads(body)
        except ValueError:  # malformed JSON or text that is not UTF-8
            self.answer(model.MALFORMED_JSON, 400)
            return
        errors = failures(document)
        if errors:
            self.answer(model.errors_document(errors), 422)
        else:
            self.answer(model.created_document(model.normalized_user(document)), 201)


routes = [(r"/validate/user", ValidateUserHandler)]
