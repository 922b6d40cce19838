import ThreadedStack

/// The dependency-injection suite on the threaded stack: bindings on the
/// app's injector, a child injector per request.
extension DISuite: ThreadedSuite {
    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        let pool = ConnectionPool()
        try configureDI(app.injector, pool: pool)
        try registerDIRoutes(app, pool: pool)
    }

    /// The suite's graph as bindings of an injector.
    static func configureDI(_ i: Injector, pool: ConnectionPool) throws {
        try i.bind(Config.self, scope: .singleton) { _ in Config() }
        try i.bind(ServiceClock.self, scope: .singleton) { _ in ServiceClock() }
        try i.bind(Cache.self, scope: .singleton) { _ in Cache() }
        try i.bind(ConnectionPool.self, scope: .singleton) { _ in pool }
        try i.bind(RequestContext.self, scope: .request) { _ in RequestContext() }
        try i.bind(DBConnection.self, scope: .request, dependsOn: [ConnectionPool.self], close: { $0.release() }) { r in
            try r.get(ConnectionPool.self).acquireBlocking()
        }
        try i.bind(Logger.self, scope: .request, dependsOn: [RequestContext.self, Config.self]) { r in
            Logger(context: try r.get(), config: try r.get())
        }
        try i.bind(UserRepository.self, scope: .request, dependsOn: [DBConnection.self, Logger.self]) { r in
            UserRepository(connection: try r.get(), logger: try r.get())
        }
        try i.bind(TokenProvider.self, scope: .request, dependsOn: [Config.self]) { r in
            let config: Config = try r.get()
            return r.awaitBlocking { await TokenProvider.make(config: config) }
        }
        try i.bind(
            UserService.self, scope: .request,
            dependsOn: [UserRepository.self, Cache.self, ServiceClock.self, TokenProvider.self]
        ) { r in
            UserService(repository: try r.get(), cache: try r.get(), clock: try r.get(), tokens: try r.get())
        }
        try i.bind(AuditEvent.self, scope: .transient, dependsOn: [Logger.self, ServiceClock.self]) { r in
            AuditEvent(logger: try r.get(), clock: try r.get())
        }
        try i.bind(Notifier.self, scope: .transient, dependsOn: [UserService.self, AuditEvent.self]) { r in
            Notifier(users: try r.get(), audit: try r.get())
        }
    }

    static func registerDIRoutes(_ app: ThreadedApp, pool: ConnectionPool) throws {
        try app.route("/di/one") { request in
            .json(["request_context": .string(try request.injector.get(RequestContext.self).id)])
        }
        try app.route("/di/ten") { request in
            let r = request.injector
            let ids = [
                try r.get(Config.self).id, try r.get(ServiceClock.self).id, try r.get(Cache.self).id,
                try r.get(RequestContext.self).id, try r.get(DBConnection.self).leaseID, try r.get(Logger.self).id,
                try r.get(UserRepository.self).id, try r.get(TokenProvider.self).id, try r.get(UserService.self).id,
                try r.get(AuditEvent.self).id,
            ]
            return .json(.object(zip(DIServices.ten.map(\.key), ids).map { ($0, JSON.string($1)) }))
        }
        try app.route("/di/graph") { request in
            let first = try request.injector.get(Notifier.self)
            let second = try request.injector.get(Notifier.self)
            let graphs: [JSON] = [first, second].map { .object($0.graph.map { ($0.key, JSON.string($0.id)) }) }
            return .json(["resolutions": .array(graphs), "pool_in_use": .int(pool.inUse)])
        }
        try app.route("/di/pool") { _ in .json(["size": .int(pool.size), "in_use": .int(pool.inUse)]) }
    }
}
