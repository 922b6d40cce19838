"""Business logic shared by every peer, ported from Sources/Frameworks/SharedLogic.

Every peer (FastAPI, Flask, Django, aiohttp, Tornado, Catzilla) imports this
module, so that only the framework's mechanism (routing, middleware, DI,
validation, async) differs between peers, never the work a request does.
The Swift files each part comes from are named in its section; answers the
verifier compares are the same byte for byte as the embedded stacks'.

Only the standard library is used here. The API is stable: other peers
depend on it.
"""

import asyncio
import base64
import hashlib
import hmac
import http.client
import itertools
import json
import math
import os
import re
import tempfile
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import Any, NamedTuple

# --------------------------------------------------------------------------
# Environment (peers/README.md: "How catbench runs a peer")
# --------------------------------------------------------------------------


def workers() -> int:
    """CATBENCH_WORKERS: the worker processes the run gives every server (1 when unset)."""
    return max(1, int(os.environ.get("CATBENCH_WORKERS", "1") or "1"))


def server_pool_size() -> int:
    """Threads of the one work pool the stacks give a whole server: max(2, workers)."""
    return max(2, workers())


def pool_threads() -> int:
    """Threads (or processes) of one worker process's work pool. A peer of
    several processes has a pool in each, so each gets its share of
    server_pool_size(), rounded up."""
    return -(-server_pool_size() // workers())


# --------------------------------------------------------------------------
# Basic suite (Contract/BasicSuite.swift)
# --------------------------------------------------------------------------

PLAINTEXT_BODY = "Hello, World!"
JSON_MESSAGE = "Hello, World!"
DEFAULT_LIMIT = 10
LIMIT_MIN, LIMIT_MAX = 1, 100
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
UINT64_MAX = (1 << 64) - 1

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


# --------------------------------------------------------------------------
# Middleware suite (SharedLogic/MiddlewarePolicy.swift, JWT.swift, HMAC.swift,
# Base64URL.swift, TokenBucket.swift, AsyncContextSource.swift)
#
# Layers, outermost first; /mw{level}/hello runs the first `level` of them:
#  1 request id, 2 logging, 3 security headers, 4 CORS, 5 authentication,
#  6 rate limit, 7 async context, 8 timing, 9 cache control, 10 accept guard.
# --------------------------------------------------------------------------

LEVELS = (0, 1, 5, 10)
LAYER_NAMES = ("request-id", "logging", "security", "cors", "auth", "rate-limit",
               "async-context", "timing", "cache-control", "accept-guard")
SECRET = b"catbench-middleware-secret"
ALLOWED_ORIGIN = "https://app.example"
SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy", "default-src 'none'"),
)
CORS_METHODS = "GET, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, X-Client-Key, X-Request-Id"
CORS_MAX_AGE = "600"
CONTEXT_VALUE = "resolved"
WWW_AUTHENTICATE = 'Bearer error="invalid_token"'
RATE_LIMITED = "rate limited"
NOT_ACCEPTABLE = "only application/json is available"


def hello_document(level: int, user: str | None, request_id: str | None, context: str | None) -> dict:
    """GET /mw{level}/hello: what the inner layers found; absent values are null."""
    return {"message": "hello", "layers": level, "user": user, "request_id": request_id, "context": context}


def error_document(message: str) -> dict:
    """The body of an early answer from a layer (401, 406, 429): {"error": message}."""
    return {"error": message}


def is_cors_preflight(method: str, origin: str | None, request_method: str | None) -> bool:
    """True for an OPTIONS from the allowed origin naming Access-Control-Request-Method."""
    return method == "OPTIONS" and origin == ALLOWED_ORIGIN and request_method is not None


CORS_PREFLIGHT_HEADERS = (
    ("Access-Control-Allow-Methods", CORS_METHODS),
    ("Access-Control-Allow-Headers", CORS_HEADERS),
    ("Access-Control-Max-Age", CORS_MAX_AGE),
)


def rate_policy(key: str) -> tuple[float, float]:
    """(capacity, refill per second) of a key: `tight-` keys get 2 then one every 2 s."""
    return (2.0, 0.5) if key.startswith("tight-") else (10_000_000.0, 10_000_000.0)


def client_key(header: str | None, subject: str | None) -> str:
    """The rate-limit key: the X-Client-Key header, else the token's subject."""
    return header or subject or "anonymous"


def accepts_json(accept: str | None) -> bool:
    """True when an Accept value allows a JSON answer (an absent one allows anything)."""
    if accept is None:
        return True
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip(" \t").lower()
        if media in ("application/json", "*/*", "application/*"):
            return True
    return False


_request_ids = itertools.count(1)


def next_request_id() -> str:
    """A counter-based request id, unique within the process: req-<n>."""
    return f"req-{next(_request_ids)}"


async def resolve_context() -> str:
    """The async layer's value: ready only after the task gave up the loop once."""
    await asyncio.sleep(0)
    return CONTEXT_VALUE


# ---- base64url and HMAC-SHA256 ------------------------------------------------

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


# ---- JWT (HS256) ---------------------------------------------------------------

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


# ---- rate limit and logging sink ----------------------------------------------

class Decision(NamedTuple):
    """A rate-limit verdict; `retry_after` is whole seconds until a token is back."""
    allowed: bool
    retry_after: int


_ALLOWED = Decision(True, 0)


class RateLimiter:
    """A token bucket per client key, refilled continuously. Thread-safe."""

    def __init__(self, policy=rate_policy):
        self._policy = policy
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, int]] = {}

    def take(self, key: str, now: int | None = None) -> Decision:
        """Takes one token of `key`'s bucket (`now` in monotonic nanoseconds)."""
        capacity, rate = self._policy(key)
        now = time.monotonic_ns() if now is None else now
        with self._lock:
            tokens, updated = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - updated) / 1e9 * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return _ALLOWED
            self._buckets[key] = (tokens, now)
        return Decision(False, max(1, math.ceil((1 - tokens) / rate)))


class LogRecord(NamedTuple):
    """One request as the logging layer records it."""
    method: str
    path: str
    status: int
    micros: int


class LogSink:
    """The logging layer's in-memory sink: a count and the latest records, bounded."""

    def __init__(self, capacity: int = 1024):
        self._ring: list[LogRecord | None] = [None] * capacity
        self._next = 0
        self._count = 0
        self._lock = threading.Lock()

    def append(self, record: LogRecord) -> None:
        with self._lock:
            self._ring[self._next] = record
            self._next = (self._next + 1) % len(self._ring)
            self._count += 1

    @property
    def total(self) -> int:
        """Records appended since start-up (GET /mw/stats answers {"logged": total})."""
        return self._count


# --------------------------------------------------------------------------
# DI suite (SharedLogic/DIServices.swift, ConnectionPool.swift)
#
#   Notifier (transient) ─┬─ UserService (request) ─┬─ UserRepository (request) ─┬─ DBConnection (request, pooled)
#                         │                          │                           └─ Logger (request) ─┬─ RequestContext (request)
#                         │                          ├─ Cache (singleton)                             └─ Config (singleton)
#                         │                          ├─ Clock (singleton)
#                         │                          └─ TokenProvider (request, made asynchronously) ── Config
#                         └─ AuditEvent (transient) ─┬─ Logger
#                                                     └─ Clock
#
# Every instance has an id `<Name>#<n>` (n counts per class and process), so
# answers show which instance a request got. Each framework builds and scopes
# these classes with its own mechanism; none of them scopes itself.
# --------------------------------------------------------------------------

POOL_SIZE = 32
# The ten services /di/ten resolves: (class name, answer key), in answer order.
TEN = (("Config", "config"), ("Clock", "clock"), ("Cache", "cache"), ("RequestContext", "request_context"),
       ("DBConnection", "db_connection"), ("Logger", "logger"), ("UserRepository", "user_repository"),
       ("TokenProvider", "token_provider"), ("UserService", "user_service"), ("AuditEvent", "audit_event"))


def _id_maker(name: str):
    # itertools.count's next() is atomic under the GIL, so ids stay unique across threads.
    counter = itertools.count(1)
    return lambda: f"{name}#{next(counter)}"


class Config:
    """Singleton: the app's settings."""
    _new_id = _id_maker("Config")

    def __init__(self):
        self.id = Config._new_id()
        self.region = "eu-west"


class ServiceClock:
    """Singleton: the clock (named Clock in ids)."""
    _new_id = _id_maker("Clock")

    def __init__(self):
        self.id = ServiceClock._new_id()

    def now(self) -> int:
        return int(time.time())


class Cache:
    """Singleton: a cache."""
    _new_id = _id_maker("Cache")

    def __init__(self):
        self.id = Cache._new_id()


class RequestContext:
    """Request-scoped: the request's context."""
    _new_id = _id_maker("RequestContext")

    def __init__(self):
        self.id = RequestContext._new_id()


class Logger:
    """Request-scoped: a logger bound to the request's context."""
    _new_id = _id_maker("Logger")

    def __init__(self, context: RequestContext, config: Config):
        self.id = Logger._new_id()
        self.context = context
        self.config = config


class UserRepository:
    """Request-scoped: data access over the request's pooled connection."""
    _new_id = _id_maker("UserRepository")

    def __init__(self, connection: "DBConnection", logger: Logger):
        self.id = UserRepository._new_id()
        self.connection = connection
        self.logger = logger


class TokenProvider:
    """Request-scoped, made by the async factory `make_token_provider`."""
    _new_id = _id_maker("TokenProvider")

    def __init__(self, config: Config):
        self.id = TokenProvider._new_id()
        self.config = config


async def make_token_provider(config: Config) -> TokenProvider:
    """The async factory: the provider is ready only after the task gave up the loop once."""
    await asyncio.sleep(0)
    return TokenProvider(config)


class UserService:
    """Request-scoped: the service the endpoints use."""
    _new_id = _id_maker("UserService")

    def __init__(self, repository: UserRepository, cache: Cache, clock: ServiceClock, tokens: TokenProvider):
        self.id = UserService._new_id()
        self.repository = repository
        self.cache = cache
        self.clock = clock
        self.tokens = tokens


class AuditEvent:
    """Transient: a new one at every injection."""
    _new_id = _id_maker("AuditEvent")

    def __init__(self, logger: Logger, clock: ServiceClock):
        self.id = AuditEvent._new_id()
        self.logger = logger
        self.clock = clock


class Notifier:
    """Transient: the root of the graph /di/graph resolves twice."""
    _new_id = _id_maker("Notifier")

    def __init__(self, users: UserService, audit: AuditEvent):
        self.id = Notifier._new_id()
        self.users = users
        self.audit = audit

    def graph(self) -> dict:
        """The ids of this instance and of everything it was built from."""
        repository = self.users.repository
        return {
            "notifier": self.id, "audit_event": self.audit.id, "user_service": self.users.id,
            "user_repository": repository.id, "db_connection": repository.connection.lease_id,
            "logger_via_repository": repository.logger.id, "logger_via_audit": self.audit.logger.id,
            "request_context": repository.logger.context.id, "token_provider": self.users.tokens.id,
            "config": repository.logger.config.id, "clock": self.users.clock.id, "cache": self.users.cache.id,
        }


def ten_document(config: Config, clock: ServiceClock, cache: Cache, context: RequestContext,
                 connection: "DBConnection", logger: Logger, repository: UserRepository,
                 tokens: TokenProvider, users: UserService, audit: AuditEvent) -> dict:
    """GET /di/ten: the ids of the ten services, keyed as TEN says."""
    ids = (config.id, clock.id, cache.id, context.id, connection.lease_id, logger.id,
           repository.id, tokens.id, users.id, audit.id)
    return {key: value for (_, key), value in zip(TEN, ids)}


def graph_document(first: Notifier, second: Notifier, pool: "ConnectionPool") -> dict:
    """GET /di/graph: the graph resolved twice in one request, and the pool's use."""
    return {"resolutions": [first.graph(), second.graph()], "pool_in_use": pool.in_use}


def pool_document(pool: "ConnectionPool") -> dict:
    """GET /di/pool: {"size": 32, "in_use": n}."""
    return {"size": pool.size, "in_use": pool.in_use}


class DBConnection:
    """A pooled connection lent for one request; `release()` gives it back
    (the framework's DI calls it when the request ends). Idempotent."""

    def __init__(self, number: int, lease: int, pool: "ConnectionPool"):
        self._number = number
        self._pool = pool
        self._released = False
        # Unique per lease, so one request's connection differs from the next one's.
        self.lease_id = f"DBConnection#{number}/lease#{lease}"

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._pool._give_back(self._number)


class ConnectionPool:
    """A fixed pool of POOL_SIZE connections. Sync designs block a thread until
    one is free (`acquire_blocking`); async ones suspend (`await acquire()`)."""
    _new_id = _id_maker("ConnectionPool")

    def __init__(self, size: int = POOL_SIZE):
        self.id = ConnectionPool._new_id()
        self.size = size
        self._idle = list(range(1, size + 1))
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        self._waiters: deque[asyncio.Future] = deque()
        self._leases = 0

    @property
    def in_use(self) -> int:
        """Connections handed out and not yet returned."""
        return self.size - len(self._idle)

    def acquire_blocking(self) -> DBConnection:
        """Takes a connection, blocking the thread until one is free."""
        with self._freed:
            while not self._idle:
                self._freed.wait()
            return self._lease(self._idle.pop())

    async def acquire(self) -> DBConnection:
        """Takes a connection, suspending the task until one is free."""
        with self._lock:
            if self._idle:
                return self._lease(self._idle.pop())
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
        try:
            number = await waiter
        except asyncio.CancelledError:
            # Handed a connection just as the task was cancelled: pass it on.
            if waiter.done() and not waiter.cancelled():
                self._give_back(waiter.result())
            raise
        with self._lock:
            return self._lease(number)

    def _lease(self, number: int) -> DBConnection:
        # Called with the lock held.
        self._leases += 1
        return DBConnection(number, self._leases, self)

    def _give_back(self, number: int) -> None:
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.cancelled():
                    waiter.get_loop().call_soon_threadsafe(self._hand_over, waiter, number)
                    return
            self._idle.append(number)
            self._freed.notify()

    def _hand_over(self, waiter: asyncio.Future, number: int) -> None:
        # On the waiter's loop; it may have been cancelled since it was chosen.
        if waiter.cancelled():
            self._give_back(number)
        else:
            waiter.set_result(number)


# --------------------------------------------------------------------------
# Validation suite (SharedLogic/ValidationRules.swift)
#
#   user        object, required fields below; unknown fields are ignored
#   name        string, 1…100 characters after trimming; trimmed
#   email       string, local@domain.tld; trimmed and lowercased
#   age         integer, 0…150
#   username    string matching ^[a-z0-9_]{3,20}$
#   nickname    optional string (null when absent), at most 50 characters
#   newsletter  optional boolean, default false
#   address     object: street 1…200, city 1…100, zip ^[0-9]{5}$, country ^[A-Z]{2}$
#   items       array of 1…1000 objects:
#     sku       string matching ^[A-Z]{3}-[0-9]{3}$
#     quantity  integer, 1…1000
#     price     number, 0.01…100000
#     tags      optional array of at most 10 strings of 1…20 characters, default []
#
# Valid → 201 {"user": <normalized>, "item_count": n, "total": Σ quantity × price};
# invalid → 422 {"errors": [{"path": "items[3].quantity", "message": "…"}…]}
# listing every failing field; malformed JSON → 400; a body over 1 MiB → 413.
# A null counts as absent, as on the stacks.
# --------------------------------------------------------------------------

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


def created_document(user: dict) -> dict:
    """The 201 answer for a validated, normalized user."""
    items = user["items"]
    return {"user": user, "item_count": len(items),
            "total": order_total((item["quantity"], item["price"]) for item in items)}


def errors_document(errors) -> dict:
    """The 422 answer from (path, message) pairs."""
    return {"errors": [{"path": path, "message": message} for path, message in errors]}


# ---- a dictionary schema, for peers whose framework has no validation library ----
# Marshmallow-style, as the threaded stack's Schema: named fields with a type,
# validators, a default and a transform, loaded from what json.loads gave.

class Length(NamedTuple):
    """A string's characters or a list's items within lo…hi."""
    lo: int
    hi: int

    def check(self, value) -> str | None:
        if self.lo <= len(value) <= self.hi:
            return None
        if isinstance(value, str):
            return f"length must be within {self.lo}...{self.hi}"
        return f"must have {self.lo}...{self.hi} items"


class Pattern:
    """A string matching a regular expression as a whole."""

    def __init__(self, pattern: str):
        self.pattern = pattern
        self._regex = re.compile(pattern)

    def check(self, value) -> str | None:
        return None if self._regex.fullmatch(value) else f"does not match {self.pattern}"


class Range(NamedTuple):
    """A number within lo…hi."""
    lo: float
    hi: float

    def check(self, value) -> str | None:
        return None if self.lo <= value <= self.hi else f"must be within {self.lo}...{self.hi}"


def _is_integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# name → (accepts the JSON value, turns it into the cleaned value)
_SCALARS = {
    "string": (lambda v: isinstance(v, str), lambda v: v),
    "integer": (_is_integer, lambda v: v),
    "number": (_is_number, float),
    "boolean": (lambda v: isinstance(v, bool), lambda v: v),
}


class ListOf(NamedTuple):
    """A list whose elements are `element` (a scalar name or a Schema), each
    element also checked by the `each` validators."""
    element: Any
    each: tuple = ()


class Field(NamedTuple):
    """One field of a Schema. `kind` is a scalar name, a Schema or a ListOf."""
    name: str
    kind: Any
    required: bool = True
    default: Any = None
    validators: tuple = ()
    transform: Any = None


class Schema:
    """A list of fields; `load` cleans a parsed JSON document or lists every error."""

    def __init__(self, *fields: Field):
        self.fields = fields

    def load(self, data) -> tuple[dict | None, list[tuple[str, str]]]:
        """(cleaned data, []) when valid (unknown keys dropped, defaults filled
        in), else (None, [(path, message), …]) with every failing field."""
        errors: list[tuple[str, str]] = []
        cleaned = self._load(data, "", errors)
        return (cleaned, errors) if not errors else (None, errors)

    def _load(self, data, path: str, errors: list) -> dict | None:
        if not isinstance(data, dict):
            errors.append((path or "body", "must be an object"))
            return None
        out = {}
        for field in self.fields:
            field_path = f"{path}.{field.name}" if path else field.name
            raw = data.get(field.name)
            if raw is None:
                if field.required:
                    errors.append((field_path, "Missing data for required field."))
                out[field.name] = field.default() if callable(field.default) else field.default
                continue
            value = _deserialize(raw, field.kind, field_path, field.transform, errors)
            if value is _INVALID:
                continue
            problem = next((p for p in (v.check(value) for v in field.validators) if p), None)
            if problem:
                errors.append((field_path, problem))
            else:
                out[field.name] = value
        return out


_INVALID = object()


def _deserialize(raw, kind, path: str, transform, errors: list):
    """The cleaned value of `raw` as `kind`, or _INVALID after recording why."""
    if isinstance(kind, Schema):
        value = kind._load(raw, path, errors)
        return _INVALID if value is None else value
    if isinstance(kind, ListOf):
        if not isinstance(raw, list):
            errors.append((path, "Not a valid list."))
            return _INVALID
        out, ok = [], True
        for k, element in enumerate(raw):
            element_path = f"{path}[{k}]"
            value = _deserialize(element, kind.element, element_path, None, errors)
            if value is _INVALID:
                ok = False
                continue
            problem = next((p for p in (v.check(value) for v in kind.each) if p), None)
            if problem:
                errors.append((element_path, problem))
                ok = False
            else:
                out.append(value)
        return out if ok else _INVALID
    accepts, convert = _SCALARS[kind]
    if not accepts(raw):
        errors.append((path, f"Not a valid {kind}."))
        return _INVALID
    value = convert(raw)
    return transform(value) if transform else value


ADDRESS_SCHEMA = Schema(
    Field("street", "string", validators=(Length(*STREET_LENGTH),)),
    Field("city", "string", validators=(Length(*CITY_LENGTH),)),
    Field("zip", "string", validators=(Pattern(ZIP_PATTERN),)),
    Field("country", "string", validators=(Pattern(COUNTRY_PATTERN),)),
)

ITEM_SCHEMA = Schema(
    Field("sku", "string", validators=(Pattern(SKU_PATTERN),)),
    Field("quantity", "integer", validators=(Range(*QUANTITY_RANGE),)),
    Field("price", "number", validators=(Range(*PRICE_RANGE),)),
    Field("tags", ListOf("string", each=(Length(*TAG_LENGTH),)), required=False, default=list,
          validators=(Length(0, TAGS_MAX),)),
)

USER_SCHEMA = Schema(
    Field("name", "string", validators=(Length(*NAME_LENGTH),), transform=trim),
    Field("email", "string", validators=(Pattern(EMAIL_PATTERN),), transform=normalize_email),
    Field("age", "integer", validators=(Range(*AGE_RANGE),)),
    Field("username", "string", validators=(Pattern(USERNAME_PATTERN),)),
    Field("nickname", "string", required=False, validators=(Length(0, NICKNAME_MAX),)),
    Field("newsletter", "boolean", required=False, default=False),
    Field("address", ADDRESS_SCHEMA),
    Field("items", ListOf(ITEM_SCHEMA), validators=(Length(*ITEM_COUNT),)),
)


# --------------------------------------------------------------------------
# Async-operations suite (SharedLogic/AsyncWork.swift)
# --------------------------------------------------------------------------

IO_SECONDS = 0.001
FANOUT = 10
UPSTREAM_DELAY_MS = 2
FILE_BYTES = 64 * 1024
FIXTURE_NAME = "catbench-async-fixture.bin"
_MASK64 = (1 << 64) - 1


def file_content() -> bytes:
    """The fixture's 64 KiB: xorshift32 from a fixed seed, so its checksum is known."""
    state = 2_463_534_242
    out = bytearray(FILE_BYTES)
    for i in range(FILE_BYTES):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        out[i] = state & 0xFF
    return bytes(out)


def checksum(data: bytes) -> str:
    """SHA-256 of data as lowercase hex. hashlib is OpenSSL, as in the Swift
    stacks, so the file workload measures the read, not a hash loop."""
    return hashlib.sha256(data).hexdigest()


def cpu(seed: int) -> str:
    """The CPU work: 50,000 rounds of xorshift mixing from `seed`, as 16 hex digits.
    (About 100 µs in Swift, about 10 ms in CPython.)"""
    x = (seed | 1) & _MASK64
    acc = 0
    for _ in range(50_000):
        x ^= (x << 13) & _MASK64
        x ^= x >> 7
        x ^= (x << 17) & _MASK64
        acc = (acc + x * 0x9E3779B97F4A7C15) & _MASK64
    return f"{acc:016x}"


def parse_seed(raw: str | None) -> int:
    """`seed` from the query, as Swift's UInt64(raw) ?? 1."""
    if raw is None or not re.fullmatch(r"\+?[0-9]+", raw) or int(raw) > UINT64_MAX:
        return 1
    return int(raw)


def parse_upstream_n(raw: str | None) -> int:
    """`n` from the query, as Swift's Int(raw) ?? 0."""
    value = parse_int64(raw)
    return 0 if value is None else value


def io_document(waited_us: int) -> dict:
    return {"io": "done", "waited_us": waited_us}


def fanout_document(results: list, waited_us: int) -> dict:
    return {"calls": len(results), "results": results, "waited_us": waited_us}


def upstream_document(n: int) -> dict:
    return {"upstream": {"n": n}}


def file_document(size: int, digest: str) -> dict:
    return {"bytes": size, "sha256": digest}


def cpu_document(seed: int, result: str) -> dict:
    # The seed is answered as a string: a UInt64 does not fit a JSON number everywhere.
    return {"seed": str(seed), "result": result}


SYNC_DOCUMENT = {"sync": True}


def micros_since(start: float) -> int:
    """Whole microseconds since `start`, a time.perf_counter() value."""
    return int((time.perf_counter() - start) * 1_000_000)


async def simulated_io(value: Any = None) -> Any:
    """The simulated I/O call: an awaited wait of at least 1 ms, then `value`.
    Event loops round timers to their own clock (uvloop's is cached per loop
    iteration), so a single sleep(0.001) can end early; wait out the rest."""
    deadline = time.perf_counter() + IO_SECONDS
    while (remaining := deadline - time.perf_counter()) > 0:
        await asyncio.sleep(remaining)
    return value


async def fanout() -> list:
    """FANOUT simulated I/O calls made concurrently; their results [0…9] in order."""
    return list(await asyncio.gather(*(simulated_io(call) for call in range(FANOUT))))


def fixture_path() -> str:
    """Where the fixture lives: CATBENCH_SCRATCH, else the system's temporary folder."""
    directory = os.environ.get("CATBENCH_SCRATCH") or tempfile.gettempdir()
    return os.path.join(directory, FIXTURE_NAME)


def write_fixture() -> str:
    """Writes the 64 KiB fixture (at start-up) and returns its path. Atomic, so
    worker processes starting together never read a half-written file."""
    path = fixture_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = f"{path}.{os.getpid()}"
    with open(partial, "wb") as file:
        file.write(file_content())
    os.replace(partial, path)
    return path


def read_fixture(path: str) -> dict:
    """Reads the fixture with blocking calls: the /async/file answer."""
    with open(path, "rb") as file:
        data = file.read()
    return file_document(len(data), checksum(data))


def upstream_address() -> tuple[str, int]:
    """(host, port) of the upstream service, from CATBENCH_UPSTREAM (host:port),
    which catbench always sets; 127.0.0.1:8090 when a peer is run by hand without it."""
    host, _, port = os.environ.get("CATBENCH_UPSTREAM", "127.0.0.1:8090").rpartition(":")
    return host.strip("[]"), int(port)


def upstream_target(n: int) -> str:
    """The request target of the upstream call: /delay?n=K."""
    return f"/delay?n={n}"


def upstream_n(body: bytes) -> int:
    """`n` from the upstream's answer {"n": K}, or -1 when it is not that."""
    try:
        value = json.loads(body).get("n")
    except (ValueError, AttributeError):
        return -1
    return value if _is_integer(value) else -1


class BlockingUpstream:
    """The sync designs' upstream client: one keep-alive http.client connection
    per thread (a sync worker serves one request at a time), reopened when the
    upstream closed it."""

    def __init__(self):
        self._host, self._port = upstream_address()
        self._local = threading.local()

    def get(self, n: int) -> int:
        """GET /delay?n=K on the upstream; K from its answer, -1 on a bad answer."""
        try:
            return self._get(n)
        except (http.client.HTTPException, OSError):
            # Most likely a kept-alive connection the upstream closed: reconnect once.
            self._drop()
            return self._get(n)

    def _get(self, n: int) -> int:
        connection = self._connection()
        connection.request("GET", upstream_target(n))
        return upstream_n(connection.getresponse().read())

    def _drop(self) -> None:
        self._local.connection.close()
        self._local.connection = None

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=5)
            self._local.connection = connection
        return connection


def start_cpu_pool(size: int | None = None) -> ProcessPoolExecutor:
    """A process pool for the CPU work of asyncio peers, its processes started
    now: `size` processes, else pool_threads() (a peer that serves from one
    process whatever CATBENCH_WORKERS says passes server_pool_size()). CPU work
    in a thread would hold the GIL and stall the event loop; processes run it
    beside the loop. Call it at start-up, before the server makes threads, so
    the forks are clean."""
    pool = ProcessPoolExecutor(max_workers=size or pool_threads())
    # With the fork start method (Linux's default), the first submission forks every process.
    pool.submit(int).result()
    return pool
