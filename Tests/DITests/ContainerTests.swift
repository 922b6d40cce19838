import AsyncStack
import CCoreStack
import SuiteKit
import Posix
import Suites
import Testing
import ThreadedStack

/// Each stack's container finds a dependency cycle when services are
/// registered, and names it.
@Suite("dependency injection containers")
struct ContainerTests {
    final class A {}
    final class B {}
    final class C {}

    @Test("ccore: compiling a graph with a cycle fails, naming the cycle")
    func ccoreCycle() {
        let c = CCoreContainer()
        c.register(A.self, scope: .request, dependsOn: [B.self]) { _ in A() }
        c.register(B.self, scope: .request, dependsOn: [C.self]) { _ in B() }
        c.register(C.self, scope: .request, dependsOn: [A.self]) { _ in C() }
        #expect {
            try c.compile()
        } throws: { error in
            "\(error)".contains("dependency cycle: A → B → C → A")
        }
    }

    @Test("ccore: a dependency that is not registered is refused")
    func ccoreMissing() {
        let c = CCoreContainer()
        c.register(A.self, scope: .request, dependsOn: [B.self]) { _ in A() }
        #expect(throws: CCoreContainer.RegistrationError.self) { try c.compile() }
    }

    @Test("async: declaring dependencies with a cycle fails, naming the cycle")
    func asyncCycle() {
        final class Box: @unchecked Sendable { var a: AnyDependency?; var b: AnyDependency? }
        let box = Box()
        let a = Dependency<Int>("A", dependsOn: { [box.b!] }) { _ in 1 }
        let b = Dependency<Int>("B", dependsOn: { [box.a!] }) { _ in 2 }
        box.a = a
        box.b = b
        #expect {
            try AsyncApp().declare([a])
        } throws: { error in
            "\(error)".contains("dependency cycle: A → B → A")
        }
    }

    @Test("threaded: binding the service that closes a cycle fails, naming the cycle")
    func threadedCycle() throws {
        let injector = Injector()
        try injector.bind(A.self, scope: .request, dependsOn: [B.self]) { _ in A() }
        try injector.bind(B.self, scope: .request, dependsOn: [C.self]) { _ in B() }
        #expect {
            try injector.bind(C.self, scope: .request, dependsOn: [A.self]) { _ in C() }
        } throws: { error in
            "\(error)".contains("dependency cycle: C → A → B → C")
        }
    }

    @Test("a server that gets a scope wrong fails verification, whatever else it does right")
    func wrongScopeFailsVerification() throws {
        let app = ThreadedApp()
        let pool = ConnectionPool()
        let i = app.injector
        try i.bind(Config.self, scope: .singleton) { _ in Config() }
        try i.bind(ServiceClock.self, scope: .singleton) { _ in ServiceClock() }
        try i.bind(Cache.self, scope: .singleton) { _ in Cache() }
        try i.bind(RequestContext.self, scope: .request) { _ in RequestContext() }
        try i.bind(DBConnection.self, scope: .request, close: { $0.release() }) { _ in pool.acquireBlocking() }
        // Wrong: Logger should be request-scoped.
        try i.bind(Logger.self, scope: .transient) { r in Logger(context: try r.get(), config: try r.get()) }
        try i.bind(UserRepository.self, scope: .request) { r in
            UserRepository(connection: try r.get(), logger: try r.get())
        }
        try i.bind(TokenProvider.self, scope: .request) { r in
            let config: Config = try r.get()
            return r.awaitBlocking { await TokenProvider.make(config: config) }
        }
        try i.bind(UserService.self, scope: .request) { r in
            UserService(repository: try r.get(), cache: try r.get(), clock: try r.get(), tokens: try r.get())
        }
        try i.bind(AuditEvent.self, scope: .transient) { r in AuditEvent(logger: try r.get(), clock: try r.get()) }
        try i.bind(Notifier.self, scope: .transient) { r in Notifier(users: try r.get(), audit: try r.get()) }
        try app.route("/di/graph") { request in
            let graphs: [JSON] = try [request.injector.get(Notifier.self), request.injector.get(Notifier.self)].map {
                .object($0.graph.map { ($0.key, JSON.string($0.id)) })
            }
            return .json(["resolutions": .array(graphs), "pool_in_use": .int(pool.inUse)])
        }
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0))
        defer { server.stop() }
        let client = ProbeClient(address: try SocketAddress(host: "127.0.0.1", port: server.port))
        let check = try #require(DISuite.contract.checks.first { $0.name.contains("graph") })
        let findings = check.request.expectation.findings(for: try client.send(check.request), check: check.name)
        #expect(findings.contains { $0.level == .failure && $0.message.contains("Logger") })
    }
}
