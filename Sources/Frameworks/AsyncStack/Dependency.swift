import NIOConcurrencyHelpers

/// A FastAPI-style dependency (`Depends`): an async factory that may ask for
/// other dependencies. Each request gets its own resolver with a cache, as
/// FastAPI caches a dependency once per request; `app` dependencies are made
/// once per app, `transient` ones at every injection (FastAPI's
/// `use_cache=False`). A `cleanup` runs when the request's answer is ready,
/// as the code after `yield` in a FastAPI dependency does.
public class AnyDependency: @unchecked Sendable {
    public enum Lifetime: Sendable { case app, request, transient }

    public let name: String
    public let lifetime: Lifetime
    /// The dependencies the factory asks for, declared so that cycles are found up front.
    let dependsOn: @Sendable () -> [AnyDependency]

    init(name: String, lifetime: Lifetime, dependsOn: @escaping @Sendable () -> [AnyDependency]) {
        self.name = name
        self.lifetime = lifetime
        self.dependsOn = dependsOn
    }
}

public final class Dependency<Value: Sendable>: AnyDependency, @unchecked Sendable {
    let make: @Sendable (DependencyResolver) async throws -> Value
    let cleanup: (@Sendable (Value) async -> Void)?

    public init(
        _ name: String, lifetime: Lifetime = .request, dependsOn: @escaping @Sendable () -> [AnyDependency] = { [] },
        cleanup: (@Sendable (Value) async -> Void)? = nil,
        _ make: @escaping @Sendable (DependencyResolver) async throws -> Value
    ) {
        self.make = make
        self.cleanup = cleanup
        super.init(name: name, lifetime: lifetime, dependsOn: dependsOn)
    }
}

/// Resolves dependencies for one request.
public final class DependencyResolver: @unchecked Sendable {
    private let app: AppDependencies
    private var cache: [ObjectIdentifier: Any] = [:]
    private var cleanups: [@Sendable () async -> Void] = []

    init(app: AppDependencies) { self.app = app }

    public func resolve<Value>(_ dependency: Dependency<Value>) async throws -> Value {
        let key = ObjectIdentifier(dependency)
        switch dependency.lifetime {
        case .app:
            if let value = app.value(key) as? Value { return value }
            let value = try await dependency.make(self)
            return app.keep(key, value) as! Value
        case .request:
            if let value = cache[key] as? Value { return value }
            let value = try await dependency.make(self)
            cache[key] = value
            if let cleanup = dependency.cleanup { cleanups.append { await cleanup(value) } }
            return value
        case .transient:
            let value = try await dependency.make(self)
            if let cleanup = dependency.cleanup { cleanups.append { await cleanup(value) } }
            return value
        }
    }

    /// Runs the cleanups, last made first (the app does this when a request's answer is ready).
    public func close() async {
        for cleanup in cleanups.reversed() { await cleanup() }
        cleanups.removeAll()
        cache.removeAll()
    }
}

/// App-lifetime dependency values, shared by every request.
final class AppDependencies: @unchecked Sendable {
    private let lock = NIOLock()
    private var values: [ObjectIdentifier: Any] = [:]

    func value(_ key: ObjectIdentifier) -> Any? { lock.withLock { values[key] } }

    /// Keeps `value` unless another request made one first; returns the kept one.
    func keep(_ key: ObjectIdentifier, _ value: Any) -> Any {
        lock.withLock {
            if let existing = values[key] { return existing }
            values[key] = value
            return value
        }
    }

    struct Cycle: Error, CustomStringConvertible {
        let description: String
    }

    /// Checks the declared graph of `dependencies` for cycles.
    static func check(_ dependencies: [AnyDependency]) throws {
        var state: [ObjectIdentifier: Int] = [:]
        var path: [AnyDependency] = []
        func visit(_ d: AnyDependency) throws {
            let key = ObjectIdentifier(d)
            if state[key] == 2 { return }
            if state[key] == 1 {
                let start = path.firstIndex { $0 === d }!
                throw Cycle(
                    description: "dependency cycle: " + (path[start...].map(\.name) + [d.name]).joined(separator: " → ")
                )
            }
            state[key] = 1
            path.append(d)
            for next in d.dependsOn() { try visit(next) }
            path.removeLast()
            state[key] = 2
        }
        for d in dependencies { try visit(d) }
    }
}
