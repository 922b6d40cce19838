"""The user model as marshmallow schemas. marshmallow's own fields are lenient
where the contract is not ("yes" is a Boolean, "2" a Float, true an Integer),
so the scalar fields are small custom fields (marshmallow's documented way to
add a type); lengths, ranges and patterns are marshmallow's validators."""

import numbers

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from catbench_shared import validation_model as model


class StrictString(fields.String):
    """Only a JSON string (marshmallow's String also takes bytes)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class Trimmed(StrictString):
    """A string trimmed before its validators see it."""

    def _deserialize(self, value, attr, data, **kwargs):
        return model.trim(super()._deserialize(value, attr, data, **kwargs))


class Email(StrictString):
    """A string trimmed and lowercased before its validators see it."""

    def _deserialize(self, value, attr, data, **kwargs):
        return model.normalize_email(super()._deserialize(value, attr, data, **kwargs))


class StrictInteger(fields.Integer):
    """Only a JSON integer: not 1.5, not "2", not true."""

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictFloat(fields.Float):
    """Only a JSON number: not "2", not true."""

    def _validated(self, value):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise self.make_error("invalid")
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """Only true or false (marshmallow's Boolean also takes "yes", 1, "on")."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class ContractSchema(Schema):
    """Unknown fields are dropped; a null counts as absent, as on the stacks."""

    class Meta:
        unknown = EXCLUDE

    @pre_load
    def null_is_absent(self, data, **kwargs):
        if isinstance(data, dict):
            return {key: value for key, value in data.items() if value is not None}
        return data


def length(bounds):
    return validate.Length(min=bounds[0], max=bounds[1])


def within(bounds):
    return validate.Range(min=bounds[0], max=bounds[1])


class AddressSchema(ContractSchema):
    street = StrictString(required=True, validate=length(model.STREET_LENGTH))
    city = StrictString(required=True, validate=length(model.CITY_LENGTH))
    zip = StrictString(required=True, validate=validate.Regexp(model.ZIP_PATTERN))
    country = StrictString(required=True, validate=validate.Regexp(model.COUNTRY_PATTERN))


class ItemSchema(ContractSchema):
    sku = StrictString(required=True, validate=validate.Regexp(model.SKU_PATTERN))
    quantity = StrictInteger(required=True, validate=within(model.QUANTITY_RANGE))
    price = StrictFloat(required=True, validate=within(model.PRICE_RANGE))
    tags = fields.List(StrictString(validate=length(model.TAG_LENGTH)), load_default=list,
                       validate=validate.Length(max=model.TAGS_MAX))


class UserSchema(ContractSchema):
    name = Trimmed(required=True, validate=length(model.NAME_LENGTH))
    email = Email(required=True, validate=validate.Regexp(model.EMAIL_PATTERN))
    age = StrictInteger(required=True, validate=within(model.AGE_RANGE))
    username = StrictString(required=True, validate=validate.Regexp(model.USERNAME_PATTERN))
    nickname = StrictString(load_default=None, validate=validate.Length(max=model.NICKNAME_MAX))
    newsletter = StrictBoolean(load_default=False)
    address = fields.Nested(AddressSchema, required=True)
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=length(model.ITEM_COUNT))


SCHEMA = UserSchema()


def flatten(messages, location=()):
    """marshmallow's error messages — a dict by field name (list items by index,
    a schema's own errors under "_schema") down to lists of texts — as
    (location, message) pairs."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            yield from flatten(value, location if key == "_schema" else (*location, key))
    else:
        for message in messages:
            yield location, message


def load(document):
    try:
        user = SCHEMA.load(document)
    except ValidationError as error:
        return None, list(flatten(error.messages))
    return user, []
