"""What the validation suite shares that is not validation
(SharedLogic/ValidationRules.swift): the model's numbers, which each peer's
validation library encodes in its own schema; the normalisation of the
accepted user; the order total; and the answers' format, with the error path
each library's error locations are turned into.

    user        object, required fields below; unknown fields are ignored
    name        string, 1…100 characters after trimming; trimmed
    email       string, local@domain.tld; trimmed and lowercased
    age         integer, 0…150
    username    string matching ^[a-z0-9_]{3,20}$
    nickname    optional string (null when absent), at most 50 characters
    newsletter  optional boolean, default false
    address     object: street 1…200, city 1…100, zip ^[0-9]{5}$, country ^[A-Z]{2}$
    items       array of 1…1000 objects:
      sku       string matching ^[A-Z]{3}-[0-9]{3}$
      quantity  integer, 1…1000
      price     number, 0.01…100000
      tags      optional array of at most 10 strings of 1…20 characters, default []

Valid → 201 {"user": <normalized>, "item_count": n, "total": Σ quantity × price};
invalid → 422 {"errors": [{"path": "items[3].quantity", "message": "…"}…]}
listing every failing field; malformed JSON → 400; a body over 1 MiB → 413.
A null counts as absent, as on the stacks. A body that is not an object fails
at the path "body".
"""

import math

NAME_LENGTH = (1, 100)
AGE_RANGE = (0, 150)
USERNAME_PATTERN = r"^[a-z0-9_]{3,20}$"
NICKNAME_MAX = 50
STREET_LENGTH = (1, 200)
CITY_LENGTH = (1, 100)
ZIP_PATTERN = r"^[0-9]{5}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
ITEM_COUNT = (1, 1000)
SKU_PATTERN = r"^[A-Z]{3}-[0-9]{3}$"
QUANTITY_RANGE = (1, 1000)
PRICE_RANGE = (0.01, 100_000.0)
TAGS_MAX = 10
TAG_LENGTH = (1, 20)
MAX_BODY_BYTES = 1 << 20

# The name's and the email's rules restated on the text before it is trimmed,
# for a library that checks a value as it comes and cannot trim it first.
_SPACE = "[ \\t\\r\\n]"
UNTRIMMED_NAME_PATTERN = (f"^{_SPACE}*[^ \\t\\r\\n](?:[\\s\\S]{{0,{NAME_LENGTH[1] - 2}}}[^ \\t\\r\\n])?"
                          f"{_SPACE}*$")
UNTRIMMED_EMAIL_PATTERN = f"^{_SPACE}*{EMAIL_PATTERN[1:-1]}{_SPACE}*$"

BODY_PATH = "body"
MALFORMED_JSON = {"error": "malformed JSON"}
TOO_LARGE = {"error": "payload too large"}


def trim(text: str) -> str:
    """Whitespace trimmed from both ends: space, tab, CR and LF only (not all of Unicode's)."""
    return text.strip(" \t\r\n")


def normalize_email(text: str) -> str:
    """The email as answered: trimmed and lowercased."""
    return trim(text).lower()


def order_total(items) -> float:
    """Σ quantity × price over (quantity, price) pairs, rounded to cents half away
    from zero (Swift's rounded(), not Python's round-half-even)."""
    total = 0.0
    for quantity, price in items:
        total += quantity * price
    cents = total * 100
    return math.copysign(math.floor(abs(cents) + 0.5), cents) / 100


def normalized_user(document: dict) -> dict:
    """A user that passed validation as answered, for a library that checks a
    document without building one: the model's fields only, name trimmed,
    email normalized, defaults for the optional fields that are absent or null."""
    def item(raw: dict) -> dict:
        return {"sku": raw["sku"], "quantity": raw["quantity"], "price": float(raw["price"]),
                "tags": list(raw.get("tags") or [])}

    address = document["address"]
    return {
        "name": trim(document["name"]), "email": normalize_email(document["email"]), "age": document["age"],
        "username": document["username"], "nickname": document.get("nickname"),
        "newsletter": bool(document.get("newsletter") or False),
        "address": {key: address[key] for key in ("street", "city", "zip", "country")},
        "items": [item(raw) for raw in document["items"]],
    }


def created_document(user: dict) -> dict:
    """The 201 answer for a validated, normalized user (a dict of plain values)."""
    items = user["items"]
    return {"user": user, "item_count": len(items),
            "total": order_total((item["quantity"], item["price"]) for item in items)}


def error_path(location) -> str:
    """A library's error location as the contract's path: ("items", 3, "quantity")
    → "items[3].quantity"; an empty location (the body itself) → "body"."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or BODY_PATH


def errors_document(errors) -> dict:
    """The 422 answer from (location, message) pairs; see error_path."""
    return {"errors": [{"path": error_path(location), "message": message} for location, message in errors]}
