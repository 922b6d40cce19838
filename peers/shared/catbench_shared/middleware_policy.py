"""The middleware suite's layers, their headers and answers
(SharedLogic/MiddlewarePolicy.swift, AsyncContextSource.swift).

Layers, outermost first; /mw{level}/hello runs the first `level` of them:
 1 request id, 2 logging, 3 security headers, 4 CORS, 5 authentication,
 6 rate limit, 7 async context, 8 timing, 9 cache control, 10 accept guard.
The token check is jwt.py, the buckets rate_limit.py, the sink logging_sink.py.
"""

import asyncio
import itertools

LEVELS = (0, 1, 5, 10)
LAYER_NAMES = ("request-id", "logging", "security", "cors", "auth", "rate-limit",
               "async-context", "timing", "cache-control", "accept-guard")
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
CORS_PREFLIGHT_HEADERS = (
    ("Access-Control-Allow-Methods", CORS_METHODS),
    ("Access-Control-Allow-Headers", CORS_HEADERS),
    ("Access-Control-Max-Age", CORS_MAX_AGE),
)
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
