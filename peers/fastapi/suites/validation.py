"""The validation suite on FastAPI: pydantic models with declarative
constraints (strict types, so "2" is no integer and 1.5 none either). The
app's handler of RequestValidationError (errors.py) turns pydantic's errors,
every failing field with its location, into the contract's 422 document;
FastAPI's max_body_size answers 413."""

from typing import Annotated

from fastapi import APIRouter
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictBool, StrictInt, StrictStr

from catbench_shared import validation_model as model

router = APIRouter()


def null_as(default):
    """A null counts as absent (as on the stacks): it becomes the field's default."""
    return BeforeValidator(lambda value: default() if value is None else value)


def length(bounds: tuple[int, int]):
    return Field(min_length=bounds[0], max_length=bounds[1])


def within(bounds: tuple[float, float]):
    return Field(ge=bounds[0], le=bounds[1])


class Address(BaseModel):
    street: Annotated[StrictStr, length(model.STREET_LENGTH)]
    city: Annotated[StrictStr, length(model.CITY_LENGTH)]
    zip: Annotated[StrictStr, Field(pattern=model.ZIP_PATTERN)]
    country: Annotated[StrictStr, Field(pattern=model.COUNTRY_PATTERN)]


Tag = Annotated[StrictStr, length(model.TAG_LENGTH)]


class Item(BaseModel):
    sku: Annotated[StrictStr, Field(pattern=model.SKU_PATTERN)]
    quantity: Annotated[StrictInt, within(model.QUANTITY_RANGE)]
    # Strict, so "2" is refused; an integer is still a number.
    price: Annotated[float, Field(strict=True), within(model.PRICE_RANGE)]
    tags: Annotated[list[Tag], Field(max_length=model.TAGS_MAX), null_as(list)] = []


class User(BaseModel):
    # Unknown fields are ignored (pydantic's default, extra="ignore").
    # Trimmed first, then measured: the constraint follows the validator.
    name: Annotated[StrictStr, AfterValidator(model.trim), length(model.NAME_LENGTH)]
    email: Annotated[StrictStr, AfterValidator(model.normalize_email), Field(pattern=model.EMAIL_PATTERN)]
    age: Annotated[StrictInt, within(model.AGE_RANGE)]
    username: Annotated[StrictStr, Field(pattern=model.USERNAME_PATTERN)]
    nickname: Annotated[StrictStr | None, Field(max_length=model.NICKNAME_MAX)] = None
    newsletter: Annotated[StrictBool, null_as(bool)] = False
    address: Address
    items: Annotated[list[Item], length(model.ITEM_COUNT)]


class Created(BaseModel):
    user: User
    item_count: int
    total: float


@router.post("/validate/user", status_code=201, max_body_size=model.MAX_BODY_BYTES)
async def validate_user(user: User) -> Created:
    total = model.order_total((item.quantity, item.price) for item in user.items)
    return Created(user=user, item_count=len(user.items), total=total)
