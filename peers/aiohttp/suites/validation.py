"""The validation suite on aiohttp with msgspec: Structs with Meta
constraints, decoded straight from the body's bytes by one typed JSON
Decoder (strict: "2" is no int, 1.5 none either, "yes" no bool). msgspec
stops at the first failing field and names its path; the peer declares the
waiver validation/error-paths for that. msgspec transforms nothing, so a
Struct's __post_init__ (its hook for that) trims the name, normalizes the
email and turns a null optional field into its default; the name's and the
email's rules are patterns that allow the whitespace the normalization trims.
aiohttp itself refuses a body over client_max_size (1 MiB) with 413."""

import re
from typing import Annotated

import msgspec
from aiohttp import web
from msgspec import Meta, Struct

from catbench_shared import validation_model as model

routes = web.RouteTableDef()

def text(bounds):
    return Meta(min_length=bounds[0], max_length=bounds[1])


def within(bounds):
    return Meta(ge=bounds[0], le=bounds[1])


class Address(Struct):
    street: Annotated[str, text(model.STREET_LENGTH)]
    city: Annotated[str, text(model.CITY_LENGTH)]
    zip: Annotated[str, Meta(pattern=model.ZIP_PATTERN)]
    country: Annotated[str, Meta(pattern=model.COUNTRY_PATTERN)]


Tag = Annotated[str, text(model.TAG_LENGTH)]


class Item(Struct):
    sku: Annotated[str, Meta(pattern=model.SKU_PATTERN)]
    quantity: Annotated[int, within(model.QUANTITY_RANGE)]
    price: Annotated[float, within(model.PRICE_RANGE)]
    tags: Annotated[list[Tag], Meta(max_length=model.TAGS_MAX)] | None = None

    def __post_init__(self):
        if self.tags is None:  # absent or null
            self.tags = []


class User(Struct):
    name: Annotated[str, Meta(pattern=model.UNTRIMMED_NAME_PATTERN)]
    email: Annotated[str, Meta(pattern=model.UNTRIMMED_EMAIL_PATTERN)]
    age: Annotated[int, within(model.AGE_RANGE)]
    username: Annotated[str, Meta(pattern=model.USERNAME_PATTERN)]
    address: Address
    items: Annotated[list[Item], text(model.ITEM_COUNT)]
    nickname: Annotated[str, Meta(max_length=model.NICKNAME_MAX)] | None = None
    newsletter: bool | None = None

    def __post_init__(self):
        self.name = model.trim(self.name)
        self.email = model.normalize_email(self.email)
        if self.newsletter is None:  # absent or null
            self.newsletter = False


DECODER = msgspec.json.Decoder(User)
ENCODER = msgspec.json.Encoder()
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def error_location(message: str):
    """msgspec's "… - at `$.items[0].quantity`" as ("items", 0, "quantity"); () for the body."""
    _, _, path = message.rpartition(" - at `$")
    return tuple(name if name else int(index) for name, index in _STEP.findall(path.rstrip("`")))


def json_answer(document, status):
    return web.Response(body=ENCODER.encode(document), status=status, content_type="application/json")


@routes.post("/validate/user")
async def validate_user(request):
    body = await request.read()
    try:
        user = DECODER.decode(body)
    except msgspec.ValidationError as error:
        message = str(error)
        return json_answer(model.errors_document([(error_location(message), message)]), 422)
    except msgspec.DecodeError:  # malformed JSON or text that is not UTF-8
        return json_answer(model.MALFORMED_JSON, 400)
    return json_answer(model.created_document(msgspec.to_builtins(user)), 201)
