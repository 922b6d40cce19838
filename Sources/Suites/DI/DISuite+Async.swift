import AsyncStack

/// The dependency-injection suite on the async stack: FastAPI-style
/// `Depends` declarations, resolved per request with a per-request cache.
extension DISuite: AsyncStackSuite {
    struct Ten: Encodable {
        let ids: [String: String]
        func encode(to encoder: Encoder) throws { try ids.encode(to: encoder) }
    }

    struct Graph: Encodable {
        let resolutions: [[String: String]]
        let pool_in_use: Int
    }

    struct PoolStats: Encodable { let size: Int; let in_use: Int }

    /// The suite's graph as FastAPI-style dependencies.
    struct DIGraph: Sendable {
        let config: Dependency<Config>, clock: Dependency<ServiceClock>, cache: Dependency<Cache>
        let context: Dependency<RequestContext>, connection: Dependency<DBConnection>, logger: Dependency<Logger>
        let repository: Dependency<UserRepository>, tokens: Dependency<TokenProvider>, users: Dependency<UserService>
        let audit: Dependency<AuditEvent>, notifier: Dependency<Notifier>, pool: Dependency<ConnectionPool>
    }

    static func makeDIGraph(pool: ConnectionPool) -> DIGraph {
        let config = Dependency<Config>("Config", lifetime: .app) { _ in Config() }
        let clock = Dependency<ServiceClock>("Clock", lifetime: .app) { _ in ServiceClock() }
        let cache = Dependency<Cache>("Cache", lifetime: .app) { _ in Cache() }
        let poolDependency = Dependency<ConnectionPool>("ConnectionPool", lifetime: .app) { _ in pool }
        let context = Dependency<RequestContext>("RequestContext") { _ in RequestContext() }
        let connection = Dependency<DBConnection>(
            "DBConnection", dependsOn: { [poolDependency] }, cleanup: { $0.release() }
        ) { r in
            await (try await r.resolve(poolDependency)).acquire()
        }
        let logger = Dependency<Logger>("Logger", dependsOn: { [context, config] }) { r in
            Logger(context: try await r.resolve(context), config: try await r.resolve(config))
        }
        let repository = Dependency<UserRepository>("UserRepository", dependsOn: { [connection, logger] }) { r in
            UserRepository(connection: try await r.resolve(connection), logger: try await r.resolve(logger))
        }
        let tokens = Dependency<TokenProvider>("TokenProvider", dependsOn: { [config] }) { r in
            await TokenProvider.make(config: try await r.resolve(config))
        }
        let users = Dependency<UserService>("UserService", dependsOn: { [repository, cache, clock, tokens] }) { r in
            UserService(
                repository: try await r.resolve(repository), cache: try await r.resolve(cache),
                clock: try await r.resolve(clock), tokens: try await r.resolve(tokens))
        }
        let audit = Dependency<AuditEvent>("AuditEvent", lifetime: .transient, dependsOn: { [logger, clock] }) { r in
            AuditEvent(logger: try await r.resolve(logger), clock: try await r.resolve(clock))
        }
        let notifier = Dependency<Notifier>("Notifier", lifetime: .transient, dependsOn: { [users, audit] }) { r in
            Notifier(users: try await r.resolve(users), audit: try await r.resolve(audit))
        }
        return DIGraph(
            config: config, clock: clock, cache: cache, context: context, connection: connection, logger: logger,
            repository: repository, tokens: tokens, users: users, audit: audit, notifier: notifier, pool: poolDependency
        )
    }

    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        let pool = ConnectionPool()
        let g = makeDIGraph(pool: pool)
        let (config, clock, cache, context, connection, logger) = (
            g.config, g.clock, g.cache, g.context, g.connection, g.logger
        )
        let (repository, tokens, users, audit, notifier) = (g.repository, g.tokens, g.users, g.audit, g.notifier)
        try app.declare([notifier, connection, g.pool])

        try app.get("/di/one") { request in
            try .json(["request_context": try await request.resolve(context).id])
        }
        try app.get("/di/ten") { request in
            let ids = [
                try await request.resolve(config).id, try await request.resolve(clock).id,
                try await request.resolve(cache).id,
                try await request.resolve(context).id, try await request.resolve(connection).leaseID,
                try await request.resolve(logger).id,
                try await request.resolve(repository).id, try await request.resolve(tokens).id,
                try await request.resolve(users).id,
                try await request.resolve(audit).id,
            ]
            return try .json(Ten(ids: Dictionary(uniqueKeysWithValues: zip(DIServices.ten.map(\.key), ids))))
        }
        try app.get("/di/graph") { request in
            let first = try await request.resolve(notifier)
            let second = try await request.resolve(notifier)
            let graphs = [first, second].map { Dictionary(uniqueKeysWithValues: $0.graph.map { ($0.key, $0.id) }) }
            return try .json(Graph(resolutions: graphs, pool_in_use: pool.inUse))
        }
        try app.get("/di/pool") { _ in try .json(PoolStats(size: pool.size, in_use: pool.inUse)) }
    }
}
