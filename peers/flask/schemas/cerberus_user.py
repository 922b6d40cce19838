"""The user model as a Cerberus schema. Cerberus normalizes first (coerce,
default, purge_unknown) and then validates every rule of every field, nested
documents and list items included, so its error tree has every failing field.
Its "integer" type also takes true (bool is an int in Python); the validator
below narrows it through types_mapping, Cerberus's documented way to define a
type."""

import threading

from cerberus import TypeDefinition, Validator
from cerberus.validator import DocumentError

from catbench_shared import validation_model as model


class ContractValidator(Validator):
    types_mapping = {**Validator.types_mapping, "integer": TypeDefinition("integer", (int,), (bool,))}


def trimmed(value):
    return model.trim(value) if isinstance(value, str) else value


def email(value):
    return model.normalize_email(value) if isinstance(value, str) else value


def string(bounds):
    return {"type": "string", "minlength": bounds[0], "maxlength": bounds[1]}


def pattern(regex):
    return {"type": "string", "regex": regex}


def integer(bounds):
    return {"type": "integer", "min": bounds[0], "max": bounds[1]}


# A null counts as absent: a field that is not nullable gets its default for it
# (Cerberus applies `default` to a missing field and to a null one).
ADDRESS = {
    "street": {"required": True, **string(model.STREET_LENGTH)},
    "city": {"required": True, **string(model.CITY_LENGTH)},
    "zip": {"required": True, **pattern(model.ZIP_PATTERN)},
    "country": {"required": True, **pattern(model.COUNTRY_PATTERN)},
}

ITEM = {
    "sku": {"required": True, **pattern(model.SKU_PATTERN)},
    "quantity": {"required": True, **integer(model.QUANTITY_RANGE)},
    "price": {"required": True, "type": "number", "min": model.PRICE_RANGE[0], "max": model.PRICE_RANGE[1]},
    "tags": {"type": "list", "default_setter": lambda document: [], "maxlength": model.TAGS_MAX,
             "schema": string(model.TAG_LENGTH)},
}

USER = {
    "name": {"required": True, "coerce": trimmed, **string(model.NAME_LENGTH)},
    "email": {"required": True, "coerce": email, **pattern(model.EMAIL_PATTERN)},
    "age": {"required": True, **integer(model.AGE_RANGE)},
    "username": {"required": True, **pattern(model.USERNAME_PATTERN)},
    "nickname": {"type": "string", "nullable": True, "default": None, "maxlength": model.NICKNAME_MAX},
    "newsletter": {"type": "boolean", "default": False},
    "address": {"required": True, "type": "dict", "schema": ADDRESS},
    "items": {"required": True, "type": "list", "minlength": model.ITEM_COUNT[0], "maxlength": model.ITEM_COUNT[1],
              "schema": {"type": "dict", "schema": ITEM}},
}

# A Validator keeps the document it works on: one per thread.
_local = threading.local()


def validator() -> ContractValidator:
    if not hasattr(_local, "validator"):
        _local.validator = ContractValidator(USER, purge_unknown=True)
    return _local.validator


def flatten(tree, location=()):
    """Cerberus's error tree — field name (list items by index) → a list of
    texts and nested trees — as (location, message) pairs."""
    for key, entries in tree.items():
        for entry in entries:
            if isinstance(entry, dict):
                yield from flatten(entry, (*location, key))
            else:
                yield (*location, key), entry


def load(document):
    checker = validator()
    try:
        valid = checker.validate(document)
    except DocumentError as error:  # the body is not an object
        return None, [((), str(error))]
    if not valid:
        return None, list(flatten(checker.errors))
    return checker.document, []
