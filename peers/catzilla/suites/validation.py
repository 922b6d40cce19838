"""The validation suite on Catzilla: Catzilla's BaseModel with Field rules,
nested models and lists of models. Catzilla checks a value as it comes and has
no field transforms, so the name's and the email's rules are patterns that
allow the whitespace the normalization trims, and __post_init__ (its hook for
custom work after validation) trims the name and lowercases the email.

What BaseModel does not do is left undone, not made up for by hand: it
reports a failed model as one message (so the 422 names the model, "body",
not every failing field: the waiver validation/error-paths), and the contract
checks it fails are listed in Tests/CatbenchTests/BundledPeerTests.swift.
The handler parses the body itself: Catzilla's auto-validation turns malformed
JSON into {} (Request.json), so it could not answer 400, and it has no body
limit to answer 413."""

import json
from typing import List, Optional

from catzilla import BaseModel, Field, JSONResponse, RouterGroup
from catzilla.validation import ValidationError

from catbench_shared import validation_model as model

group = RouterGroup()


class Address(BaseModel):
    street: str = Field(min_length=model.STREET_LENGTH[0], max_length=model.STREET_LENGTH[1])
    city: str = Field(min_length=model.CITY_LENGTH[0], max_length=model.CITY_LENGTH[1])
    zip: str = Field(regex=model.ZIP_PATTERN)
    country: str = Field(regex=model.COUNTRY_PATTERN)


class Item(BaseModel):
    sku: str = Field(regex=model.SKU_PATTERN)
    quantity: int = Field(ge=model.QUANTITY_RANGE[0], le=model.QUANTITY_RANGE[1])
    price: float = Field(ge=model.PRICE_RANGE[0], le=model.PRICE_RANGE[1])
    # Field() has no rule for a list's items: the tags' 1…20 characters go unchecked.
    tags: List[str] = Field([], max_items=model.TAGS_MAX)

    def __post_init__(self):
        # A null counts as absent, as on the stacks.
        if self.tags is None:
            self.tags = []


class UserModel(BaseModel):
    name: str = Field(regex=model.UNTRIMMED_NAME_PATTERN)
    email: str = Field(regex=model.UNTRIMMED_EMAIL_PATTERN)
    age: int = Field(ge=model.AGE_RANGE[0], le=model.AGE_RANGE[1])
    username: str = Field(regex=model.USERNAME_PATTERN)
    nickname: Optional[str] = Field(None, max_length=model.NICKNAME_MAX)
    newsletter: bool = Field(False)
    address: Address
    items: List[Item] = Field(min_items=model.ITEM_COUNT[0], max_items=model.ITEM_COUNT[1])

    def __post_init__(self):
        self.name = model.trim(self.name)
        self.email = model.normalize_email(self.email)
        if self.newsletter is None:  # a null counts as absent
            self.newsletter = False


def user_document(user):
    """The normalized user as JSON: Catzilla's dict() leaves nested models as objects."""
    document = user.dict()
    document["address"] = user.address.dict()
    document["items"] = [{**item.dict(), "tags": list(item.tags)} for item in user.items]
    return document


def body_bytes(request):
    """The body's size in bytes. Catzilla hands the body over as text; its
    Content-Length says the size without encoding up to 1 MiB again to count
    it. A body without one (chunked) is measured."""
    declared = request.get_header("Content-Length")
    if declared is not None:
        return int(declared)
    return len((request.body or "").encode())


@group.post("/validate/user")
def validate_user(request):
    if body_bytes(request) > model.MAX_BODY_BYTES:
        return JSONResponse(model.TOO_LARGE, status_code=413)
    try:
        data = json.loads(request.body or "")
    except ValueError:
        return JSONResponse(model.MALFORMED_JSON, status_code=400)
    if not isinstance(data, dict):
        return JSONResponse(model.errors_document([((), "must be an object")]), status_code=422)
    try:
        user = UserModel(**data)
    except ValidationError as error:
        # Catzilla reports one message for the whole model, not a path per field.
        return JSONResponse(model.errors_document([((), str(error))]), status_code=422)
    return JSONResponse(model.created_document(user_document(user)), status_code=201)
