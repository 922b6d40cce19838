import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The services of the dependency-injection suite, the same classes on every
/// stack (each stack's container builds and scopes them its own way). Every
/// instance has an id, `<Name>#<n>`, so that answers show which instance a
/// request was given and the verifier can check the scope rules.
///
///     Notifier (transient) ─┬─ UserService (request) ─┬─ UserRepository (request) ─┬─ DBConnection (request, pooled)
///                           │                          │                           └─ Logger (request) ─┬─ RequestContext (request)
///                           │                          ├─ Cache (singleton)                             └─ Config (singleton)
///                           │                          ├─ Clock (singleton)
///                           │                          └─ TokenProvider (request, made asynchronously) ── Config
///                           └─ AuditEvent (transient) ─┬─ Logger
///                                                       └─ Clock
public enum DIServices {
    static let counters = (0..<16).map { _ in AtomicCounter() }

    static func id(_ name: String, _ slot: Int) -> String { "\(name)#\(counters[slot].next())" }

    /// Every service of the graph, in an order where dependencies come first.
    public static let names = [
        "Config", "Clock", "Cache", "ConnectionPool", "RequestContext", "DBConnection",
        "Logger", "UserRepository", "TokenProvider", "UserService", "AuditEvent", "Notifier",
    ]
    /// The ten services `/di/ten` resolves, with their answer keys.
    public static let ten: [(name: String, key: String)] = [
        ("Config", "config"), ("Clock", "clock"), ("Cache", "cache"), ("RequestContext", "request_context"),
        ("DBConnection", "db_connection"), ("Logger", "logger"), ("UserRepository", "user_repository"),
        ("TokenProvider", "token_provider"), ("UserService", "user_service"), ("AuditEvent", "audit_event"),
    ]
    public static let poolSize = 32
}

public final class Config: Sendable {
    public let id = DIServices.id("Config", 0)
    public let region = "eu-west"
    public init() {}
}

public final class ServiceClock: Sendable {
    public let id = DIServices.id("Clock", 1)
    public init() {}
    public func now() -> Int { Int(time(nil)) }
}

public final class Cache: Sendable {
    public let id = DIServices.id("Cache", 2)
    public init() {}
}

public final class RequestContext: Sendable {
    public let id = DIServices.id("RequestContext", 4)
    public init() {}
}

public final class Logger: Sendable {
    public let id = DIServices.id("Logger", 6)
    public let context: RequestContext
    public let config: Config
    public init(context: RequestContext, config: Config) {
        self.context = context
        self.config = config
    }
}

public final class UserRepository: Sendable {
    public let id = DIServices.id("UserRepository", 7)
    public let connection: DBConnection
    public let logger: Logger
    public init(connection: DBConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }
}

/// Made by an async factory, as a dependency that fetches a token would be.
public final class TokenProvider: Sendable {
    public let id = DIServices.id("TokenProvider", 8)
    public let config: Config
    private init(config: Config) { self.config = config }

    public static func make(config: Config) async -> TokenProvider {
        await Task.yield()
        return TokenProvider(config: config)
    }
}

public final class UserService: Sendable {
    public let id = DIServices.id("UserService", 9)
    public let repository: UserRepository
    public let cache: Cache
    public let clock: ServiceClock
    public let tokens: TokenProvider
    public init(repository: UserRepository, cache: Cache, clock: ServiceClock, tokens: TokenProvider) {
        self.repository = repository
        self.cache = cache
        self.clock = clock
        self.tokens = tokens
    }
}

public final class AuditEvent: Sendable {
    public let id = DIServices.id("AuditEvent", 10)
    public let logger: Logger
    public let clock: ServiceClock
    public init(logger: Logger, clock: ServiceClock) {
        self.logger = logger
        self.clock = clock
    }
}

public final class Notifier: Sendable {
    public let id = DIServices.id("Notifier", 11)
    public let users: UserService
    public let audit: AuditEvent
    public init(users: UserService, audit: AuditEvent) {
        self.users = users
        self.audit = audit
    }

    /// The ids of this instance and of everything it was built from, as the
    /// `/di/graph` answer lists them.
    public var graph: [(key: String, id: String)] {
        [
            ("notifier", id), ("audit_event", audit.id), ("user_service", users.id),
            ("user_repository", users.repository.id), ("db_connection", users.repository.connection.leaseID),
            ("logger_via_repository", users.repository.logger.id), ("logger_via_audit", audit.logger.id),
            ("request_context", users.repository.logger.context.id), ("token_provider", users.tokens.id),
            ("config", users.repository.logger.config.id), ("clock", users.clock.id), ("cache", users.cache.id),
        ]
    }
}
