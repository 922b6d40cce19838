"""The DI suite's services and connection pool (SharedLogic/DIServices.swift,
ConnectionPool.swift).

  Notifier (transient) ─┬─ UserService (request) ─┬─ UserRepository (request) ─┬─ DBConnection (request, pooled)
                        │                          │                           └─ Logger (request) ─┬─ RequestContext
                        │                          ├─ Cache (singleton)                             └─ Config (singleton)
                        │                          ├─ Clock (singleton)
                        │                          └─ TokenProvider (request, made asynchronously) ── Config
                        └─ AuditEvent (transient) ─┬─ Logger
                                                    └─ Clock

Every instance has an id `<Name>#<n>` (n counts per class and process), so
answers show which instance a request got. Each framework builds and scopes
these classes with its own mechanism; none of them scopes itself.
"""

import asyncio
import itertools
import threading
import time
from collections import deque

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
