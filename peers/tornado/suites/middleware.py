"""The middleware suite on Tornado. Tornado has no middleware system, so each
layer is a RequestHandler mixin overriding prepare() (request work, may answer
early), finish() (headers on the answer) or on_finish() (after the answer),
chained by cooperative super() calls — a handler's bases are its layers,
outermost first. A layer's prepare() marks it entered and calls the next
layer's; to answer early it finishes instead. Its finish() and on_finish() act
only when it was entered, so an early answer passes through the outer layers
alone."""

from catbench_shared import jwt, logging_sink, middleware_policy as policy, rate_limit
from handlers import ContractHandler


class RequestIDLayer:
    async def prepare(self):
        self.entered.add(RequestIDLayer)
        self.request_id = self.request.headers.get("X-Request-Id") or policy.next_request_id()
        await super().prepare()

    def finish(self, chunk=None):
        if RequestIDLayer in self.entered:
            self.set_header("X-Request-Id", self.request_id)
        return super().finish(chunk)


class LoggingLayer:
    async def prepare(self):
        self.entered.add(LoggingLayer)
        await super().prepare()

    def on_finish(self):
        if LoggingLayer in self.entered:
            micros = int(self.request.request_time() * 1_000_000)
            record = logging_sink.LogRecord(self.request.method, self.request.path, self.get_status(), micros)
            self.settings["log_sink"].append(record)
        super().on_finish()


class SecurityLayer:
    async def prepare(self):
        self.entered.add(SecurityLayer)
        await super().prepare()

    def finish(self, chunk=None):
        if SecurityLayer in self.entered:
            for name, value in policy.SECURITY_HEADERS:
                self.set_header(name, value)
        return super().finish(chunk)


class CORSLayer:
    async def prepare(self):
        self.entered.add(CORSLayer)
        headers = self.request.headers
        if policy.is_cors_preflight(self.request.method, headers.get("Origin"),
                                    headers.get("Access-Control-Request-Method")):
            for name, value in policy.CORS_PREFLIGHT_HEADERS:
                self.set_header(name, value)
            self.set_status(204)
            self.finish()
            return
        await super().prepare()

    def finish(self, chunk=None):
        if CORSLayer in self.entered and self.request.headers.get("Origin") == policy.ALLOWED_ORIGIN:
            self.set_header("Access-Control-Allow-Origin", policy.ALLOWED_ORIGIN)
            self.add_header("Vary", "Origin")
        return super().finish(chunk)


class AuthLayer:
    async def prepare(self):
        self.entered.add(AuthLayer)
        try:
            self.user = jwt.verify_jwt(self.request.headers.get("Authorization")).subject
        except jwt.JWTRejected as rejection:
            self.refuse(401, rejection.reason, [("WWW-Authenticate", policy.WWW_AUTHENTICATE)])
            return
        await super().prepare()


class RateLimitLayer:
    async def prepare(self):
        self.entered.add(RateLimitLayer)
        key = rate_limit.client_key(self.request.headers.get("X-Client-Key"), self.user)
        decision = self.settings["rate_limiter"].take(key)
        if not decision.allowed:
            self.refuse(429, policy.RATE_LIMITED, [("Retry-After", str(decision.retry_after))])
            return
        await super().prepare()


class AsyncContextLayer:
    async def prepare(self):
        self.entered.add(AsyncContextLayer)
        self.context = await policy.resolve_context()
        await super().prepare()


class TimingLayer:
    async def prepare(self):
        self.entered.add(TimingLayer)
        await super().prepare()

    def finish(self, chunk=None):
        if TimingLayer in self.entered:
            self.add_header("Server-Timing", f"app;dur={self.request.request_time() * 1000}")
        return super().finish(chunk)


class CacheControlLayer:
    async def prepare(self):
        self.entered.add(CacheControlLayer)
        await super().prepare()

    def finish(self, chunk=None):
        if CacheControlLayer in self.entered:
            self.set_header("Cache-Control", "no-store")
        return super().finish(chunk)


class AcceptGuardLayer:
    async def prepare(self):
        self.entered.add(AcceptGuardLayer)
        if not policy.accepts_json(self.request.headers.get("Accept")):
            self.refuse(406, policy.NOT_ACCEPTABLE)
            return
        await super().prepare()


class HelloHandler(ContractHandler):
    """GET and OPTIONS /mw{level}/hello; the subclasses below put the layers in front."""
    level = 0
    user = request_id = context = None  # set by the layers that find them

    def initialize(self):
        self.entered = set()  # the layers this request went through

    async def prepare(self):
        pass  # the end of the layers' prepare() chain

    def get(self):
        self.finish(policy.hello_document(self.level, self.user, self.request_id, self.context))

    def options(self):
        # Reached when no CORS layer answered a preflight: list the methods.
        self.set_header("Allow", policy.CORS_METHODS)
        self.set_status(204)
        self.finish()


class Hello0(HelloHandler):
    level = 0


class Hello1(RequestIDLayer, HelloHandler):
    level = 1


class Hello5(RequestIDLayer, LoggingLayer, SecurityLayer, CORSLayer, AuthLayer, HelloHandler):
    level = 5


class Hello10(RequestIDLayer, LoggingLayer, SecurityLayer, CORSLayer, AuthLayer, RateLimitLayer,
              AsyncContextLayer, TimingLayer, CacheControlLayer, AcceptGuardLayer, HelloHandler):
    level = 10


class StatsHandler(ContractHandler):
    def get(self):
        self.finish({"logged": self.settings["log_sink"].total})


routes = [
    (r"/mw0/hello", Hello0),
    (r"/mw1/hello", Hello1),
    (r"/mw5/hello", Hello5),
    (r"/mw10/hello", Hello10),
    (r"/mw/stats", StatsHandler),
]


def settings():
    return {"log_sink": logging_sink.LogSink(), "rate_limiter": rate_limit.RateLimiter()}
