"""HS256 JSON Web Tokens with base64url and HMAC-SHA256 (SharedLogic/JWT.swift,
HMAC.swift, Base64URL.swift): what the middleware suite's authentication
layer checks."""

import base64
import hmac
import json
import math
import re
import time
from typing import NamedTuple

SECRET = b"catbench-middleware-secret"

_BASE64URL_TEXT = re.compile(r"[A-Za-z0-9_-]*")


def base64url_encode(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5), as JWTs use it."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def base64url_decode(text: str) -> bytes | None:
    """The bytes of unpadded base64url `text`, or None when it is not base64url."""
    # A lone leftover character (6 bits) cannot come from any byte string.
    if not _BASE64URL_TEXT.fullmatch(text) or len(text) % 4 == 1:
        return None
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under `key`, in one call (OpenSSL's one-shot HMAC,
    no HMAC object per token)."""
    return hmac.digest(key, message, "sha256")


class Claims(NamedTuple):
    """What a verified token says: its subject and expiry (seconds since the epoch)."""
    subject: str
    expires: int


class JWTRejected(Exception):
    """A refused token; `reason` is one of the REJECT_* texts (all answered 401)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


REJECT_MISSING = "missing bearer token"
REJECT_MALFORMED = "malformed token"
REJECT_ALGORITHM = "unsupported algorithm"
REJECT_SIGNATURE = "bad signature"
REJECT_EXPIRED = "token expired"


def sign_jwt(subject: str, expires: int, secret: bytes = SECRET) -> str:
    """An HS256 token for `subject`, valid until `expires`."""
    header = base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = base64url_encode(f'{{"sub":"{subject}","exp":{expires}}}'.encode())
    signature = base64url_encode(hmac_sha256(secret, f"{header}.{payload}".encode()))
    return f"{header}.{payload}.{signature}"


def _refuse(constant: str):
    # NaN and Infinity are not JSON; Python's decoder accepts them unless told.
    raise ValueError(constant)


# One decoder for every token: json.loads with an option builds a new decoder per call.
_TOKEN_JSON = json.JSONDecoder(parse_constant=_refuse)


def _flat_json(data: bytes) -> dict | None:
    """A one-level JSON object (strings, numbers, booleans, null as values), else None."""
    try:
        value = _TOKEN_JSON.decode(data.decode("utf-8"))
    except ValueError:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    if not isinstance(value, dict):
        return None
    flat = all(v is None or isinstance(v, (str, int, float)) for v in value.values())
    return value if flat else None


def verify_jwt(authorization: str | None, secret: bytes = SECRET, now: int | None = None) -> Claims:
    """Checks an Authorization value: `Bearer <token>`, HS256 only (`none` or any
    other algorithm is refused), a valid signature, a string `sub` and a numeric
    `exp` in the future. Returns the claims or raises JWTRejected."""
    if authorization is None or not authorization.startswith("Bearer "):
        raise JWTRejected(REJECT_MISSING)
    token = authorization[7:]
    parts = token.split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise JWTRejected(REJECT_MALFORMED)
    header_bytes, payload_bytes, signature = (base64url_decode(p) for p in parts)
    if header_bytes is None or payload_bytes is None or signature is None:
        raise JWTRejected(REJECT_MALFORMED)
    header, payload = _flat_json(header_bytes), _flat_json(payload_bytes)
    if header is None or payload is None:
        raise JWTRejected(REJECT_MALFORMED)
    if header.get("alg") != "HS256":
        raise JWTRejected(REJECT_ALGORITHM)
    signed = token[:len(parts[0]) + 1 + len(parts[1])].encode("ascii")
    if not hmac.compare_digest(hmac_sha256(secret, signed), signature):
        raise JWTRejected(REJECT_SIGNATURE)
    subject, expires = payload.get("sub"), payload.get("exp")
    # bool is an int in Python, but `true` is not a number in JSON.
    if not isinstance(subject, str) or isinstance(expires, bool) or not isinstance(expires, (int, float)) \
            or not math.isfinite(expires):
        raise JWTRejected(REJECT_MALFORMED)
    if int(expires) <= (int(time.time()) if now is None else now):
        raise JWTRejected(REJECT_EXPIRED)
    return Claims(subject, int(expires))
