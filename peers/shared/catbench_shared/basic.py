"""The basic suite's answers (Contract/BasicSuite.swift)."""

import re

PLAINTEXT_BODY = "Hello, World!"
JSON_MESSAGE = "Hello, World!"
DEFAULT_LIMIT = 10
LIMIT_MIN, LIMIT_MAX = 1, 100
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
NOT_FOUND = {"error": "not found"}

# What Swift's Int(text) accepts: an optional sign and ASCII digits, nothing else
# (Python's int() would also take spaces, underscores and other digits).
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


def parse_int64(text: str | None) -> int | None:
    """The integer `text` spells, as Swift's Int(text): None unless it is an int64."""
    if text is None or not _INTEGER_TEXT.fullmatch(text):
        return None
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else None


def user_document(user_id: int) -> dict:
    """GET /users/{id}: {"id": id, "name": "User <id>"}."""
    return {"id": user_id, "name": f"User {user_id}"}


def search_limit(raw: str | None) -> int:
    """`limit` from the query: absent or not an integer gives 10; an integer is clamped to 1…100."""
    value = parse_int64(raw)
    if value is None:
        return DEFAULT_LIMIT
    return min(max(value, LIMIT_MIN), LIMIT_MAX)


def search_document(query: str, limit: int) -> dict:
    """GET /search: the query, the limit and `limit` results titled "<q> #i"."""
    results = [{"id": i, "title": f"{query} #{i}"} for i in range(1, limit + 1)]
    return {"query": query, "limit": limit, "results": results}
