import CCoreStack
import WireFormat

/// The dependency-injection suite on ccore: the graph registered in the app's
/// container, compiled into plans when the server starts.
extension DISuite: CCoreSuite {
    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        let pool = ConnectionPool()
        configureDI(app.container, pool: pool)
        try registerDIRoutes(app, pool: pool)
    }

    /// The suite's graph in a ccore container.
    static func configureDI(_ c: CCoreContainer, pool: ConnectionPool) {
        c.register(Config.self, scope: .singleton) { _ in Config() }
        c.register(ServiceClock.self, scope: .singleton) { _ in ServiceClock() }
        c.register(Cache.self, scope: .singleton) { _ in Cache() }
        c.register(ConnectionPool.self, scope: .singleton) { _ in pool }
        c.register(RequestContext.self, scope: .request) { _ in RequestContext() }
        c.register(DBConnection.self, scope: .request, dependsOn: [ConnectionPool.self], release: { $0.release() }) {
            d in
            d[0, as: ConnectionPool.self].acquireBlocking()
        }
        c.register(Logger.self, scope: .request, dependsOn: [RequestContext.self, Config.self]) { d in
            Logger(context: d[0], config: d[1])
        }
        c.register(UserRepository.self, scope: .request, dependsOn: [DBConnection.self, Logger.self]) { d in
            UserRepository(connection: d[0], logger: d[1])
        }
        c.registerAsync(TokenProvider.self, scope: .request, dependsOn: [Config.self]) { deps in
            await TokenProvider.make(config: deps[0] as! Config)
        }
        c.register(
            UserService.self, scope: .request,
            dependsOn: [UserRepository.self, Cache.self, ServiceClock.self, TokenProvider.self]
        ) { d in
            UserService(repository: d[0], cache: d[1], clock: d[2], tokens: d[3])
        }
        c.register(AuditEvent.self, scope: .transient, dependsOn: [Logger.self, ServiceClock.self]) { d in
            AuditEvent(logger: d[0], clock: d[1])
        }
        c.register(Notifier.self, scope: .transient, dependsOn: [UserService.self, AuditEvent.self]) { d in
            Notifier(users: d[0], audit: d[1])
        }
    }

    static func registerDIRoutes(_ app: CCoreApp, pool: ConnectionPool) throws {
        try app.get("/di/one") { ex in
            let context: RequestContext = ex.resolve()
            ex.json { w in
                w.beginObject(); w.key("request_context"); w.string(context.id); w.endObject()
            }
        }
        try app.get("/di/ten") { ex in
            let ids: [String] = [
                (ex.resolve() as Config).id, (ex.resolve() as ServiceClock).id, (ex.resolve() as Cache).id,
                (ex.resolve() as RequestContext).id, (ex.resolve() as DBConnection).leaseID,
                (ex.resolve() as Logger).id,
                (ex.resolve() as UserRepository).id, (ex.resolve() as TokenProvider).id,
                (ex.resolve() as UserService).id,
                (ex.resolve() as AuditEvent).id,
            ]
            ex.json { w in
                w.beginObject()
                for (k, (_, key)) in DIServices.ten.enumerated() { w.dynamicKey(key); w.string(ids[k]) }
                w.endObject()
            }
        }
        try app.get("/di/graph") { ex in
            let first: Notifier = ex.resolve()
            let second: Notifier = ex.resolve()
            let inUse = pool.inUse
            ex.json { w in
                w.beginObject()
                w.key("resolutions"); w.beginArray()
                for notifier in [first, second] {
                    w.beginObject()
                    for (key, id) in notifier.graph { w.dynamicKey(key); w.string(id) }
                    w.endObject()
                }
                w.endArray()
                w.key("pool_in_use"); w.int(inUse)
                w.endObject()
            }
        }
        try app.get("/di/pool") { ex in
            let inUse = pool.inUse
            ex.json { w in
                w.beginObject(); w.key("size"); w.int(pool.size); w.key("in_use"); w.int(inUse); w.endObject()
            }
        }
    }
}
