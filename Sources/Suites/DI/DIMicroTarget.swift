import AsyncStack
import CCoreStack
import Posix
import SuiteKit
import ThreadedStack

/// One kind of resolution of the DI suite's graph, done once per call, on a
/// stack's own container — what `catbench micro di` times. The same workload
/// on every stack:
/// - `singleton`: Config, from a warm container;
/// - `request`: Logger in a fresh request scope (it makes Logger and
///   RequestContext), then the scope ends;
/// - `cached`: Logger again within the same request;
/// - `transient`: a new AuditEvent (its request-scoped Logger cached);
/// - `graph`: Notifier in a fresh request scope — the whole graph, a pooled
///   connection leased and given back, an async factory awaited.
public enum DIResolution: String, CaseIterable, Sendable {
    case singleton, request, cached, transient, graph
}

/// A stack's container with the suite's graph, ready to resolve on the
/// calling thread (async work goes through `bridge`, a thread of the caller's).
public final class DIMicroTarget: @unchecked Sendable {
    public let stack: StackName
    private let run: (DIResolution) -> Void
    private let runAsync: (@Sendable (DIResolution) async -> Void)?

    private init(
        stack: StackName, run: @escaping (DIResolution) -> Void,
        runAsync: (@Sendable (DIResolution) async -> Void)? = nil
    ) {
        self.stack = stack
        self.run = run
        self.runAsync = runAsync
    }

    /// True when resolutions must be made from an async context (the async stack).
    public var isAsync: Bool { runAsync != nil }

    public func resolveNow(_ kind: DIResolution) { run(kind) }
    public func resolve(_ kind: DIResolution) async { await runAsync?(kind) }

    public static func make(_ stack: StackName, bridge: ThreadExecutor) throws -> DIMicroTarget {
        let pool = ConnectionPool()
        switch stack {
        case .ccore:
            let c = CCoreContainer()
            DISuite.configureDI(c, pool: pool)
            try c.compile()
            let scope = c.makeScope()
            let runner: (@escaping @Sendable () async -> AnyObject) -> AnyObject = { make in
                bridge.runBlocking { UncheckedBox(await make()) }.value
            }
            func resolve<T>(_ type: T.Type) -> T { c.resolve(type, scope: scope, async: runner) }
            _ = resolve(Config.self)
            // Warm the cached and transient cases with a live request scope.
            _ = resolve(Logger.self)
            return DIMicroTarget(stack: stack) { kind in
                switch kind {
                case .singleton: _ = resolve(Config.self)
                case .request:
                    c.end(scope)
                    _ = resolve(Logger.self)
                case .cached: _ = resolve(Logger.self)
                case .transient: _ = resolve(AuditEvent.self)
                case .graph:
                    c.end(scope)
                    _ = resolve(Notifier.self)
                    c.end(scope)
                    _ = resolve(Logger.self)
                }
            }
        case .threaded:
            let injector = Injector()
            try DISuite.configureDI(injector, pool: pool)
            var request = injector.requestInjector(bridge: bridge)
            _ = try request.get(Logger.self)
            return DIMicroTarget(stack: stack) { kind in
                switch kind {
                case .singleton: _ = try? request.get(Config.self)
                case .request:
                    request.close()
                    request = injector.requestInjector(bridge: bridge)
                    _ = try? request.get(Logger.self)
                case .cached: _ = try? request.get(Logger.self)
                case .transient: _ = try? request.get(AuditEvent.self)
                case .graph:
                    request.close()
                    request = injector.requestInjector(bridge: bridge)
                    _ = try? request.get(Notifier.self)
                }
            }
        case .async:
            let app = AsyncApp()
            let g = DISuite.makeDIGraph(pool: pool)
            try app.declare([g.notifier])
            let state = ResolverBox(app.makeResolver())
            return DIMicroTarget(stack: stack, run: { _ in fatalError("the async stack resolves from async code") }) {
                kind in
                switch kind {
                case .singleton: _ = try? await state.resolver.resolve(g.config)
                case .request:
                    await state.resolver.close()
                    state.resolver = app.makeResolver()
                    _ = try? await state.resolver.resolve(g.logger)
                case .cached: _ = try? await state.resolver.resolve(g.logger)
                case .transient: _ = try? await state.resolver.resolve(g.audit)
                case .graph:
                    await state.resolver.close()
                    state.resolver = app.makeResolver()
                    _ = try? await state.resolver.resolve(g.notifier)
                }
            }
        }
    }
}

private final class ResolverBox: @unchecked Sendable {
    var resolver: DependencyResolver
    init(_ resolver: DependencyResolver) { self.resolver = resolver }
}

private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
