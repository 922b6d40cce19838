/// ccore's dependency injection: services are registered with their scope and
/// the types they depend on; `compile()` checks the graph once (unknown
/// dependencies, cycles) and turns it into index-based plans. Resolving is
/// then a walk over small arrays: singletons in one array, a request's
/// instances in per-loop slots that are cleared when the request ends.
public final class CCoreContainer: @unchecked Sendable {
    public enum Scope: Sendable { case singleton, request, transient }

    /// Gives a factory the dependencies it declared, in that order.
    public struct Dependencies {
        let values: [AnyObject]
        public subscript<T>(_ index: Int, as type: T.Type = T.self) -> T { values[index] as! T }
    }

    struct Service {
        let name: String
        let key: ObjectIdentifier
        let scope: Scope
        let dependencies: [ObjectIdentifier]
        let isAsync: Bool
        let make: (Dependencies) -> AnyObject
        let makeAsync: (@Sendable ([AnyObject]) async -> AnyObject)?
        let release: ((AnyObject) -> Void)?
    }

    public struct RegistrationError: Error, CustomStringConvertible {
        public let description: String
    }

    private var services: [Service] = []
    private var compiled = false
    // Plans, by service index.
    private(set) var dependencyIndices: [[Int]] = []
    private var index: [ObjectIdentifier: Int] = [:]
    private var singletons: [AnyObject?] = []
    private var singletonLock = pthread_mutex_t()

    public init() { pthread_mutex_init(&singletonLock, nil) }
    deinit { pthread_mutex_destroy(&singletonLock) }

    public func register<T: AnyObject>(
        _ type: T.Type, scope: Scope, dependsOn: [Any.Type] = [],
        release: ((T) -> Void)? = nil, _ make: @escaping (Dependencies) -> T
    ) {
        precondition(!compiled, "register services before compiling")
        services.append(
            Service(
                name: "\(T.self)", key: ObjectIdentifier(T.self), scope: scope,
                dependencies: dependsOn.map { ObjectIdentifier($0) }, isAsync: false,
                make: { make($0) }, makeAsync: nil, release: release.map { r in { r($0 as! T) } }))
    }

    /// A service made by an async factory; a sync handler waits for it through its loop's bridge.
    public func registerAsync<T: AnyObject & Sendable>(
        _ type: T.Type, scope: Scope, dependsOn: [Any.Type] = [],
        _ make: @escaping @Sendable ([AnyObject]) async -> T
    ) {
        precondition(!compiled, "register services before compiling")
        services.append(
            Service(
                name: "\(T.self)", key: ObjectIdentifier(T.self), scope: scope,
                dependencies: dependsOn.map { ObjectIdentifier($0) }, isAsync: true,
                make: { _ in fatalError("async service made synchronously") }, makeAsync: { await make($0) },
                release: nil))
    }

    /// Checks the graph and builds the plans: every dependency registered, no cycle.
    public func compile() throws {
        guard !compiled else { return }
        for (i, service) in services.enumerated() {
            guard index[service.key] == nil else {
                throw RegistrationError(description: "\(service.name) is registered twice")
            }
            index[service.key] = i
        }
        dependencyIndices = try services.map { service in
            try service.dependencies.map { key in
                guard let i = index[key] else {
                    throw RegistrationError(description: "\(service.name) depends on a service that is not registered")
                }
                return i
            }
        }
        // Depth-first search with colours; a grey node met again closes a cycle.
        var colour = [UInt8](repeating: 0, count: services.count)
        var path: [Int] = []
        func visit(_ i: Int) throws {
            if colour[i] == 2 { return }
            if colour[i] == 1 {
                let cycle = path[path.firstIndex(of: i)!...].map { services[$0].name } + [services[i].name]
                throw RegistrationError(description: "dependency cycle: " + cycle.joined(separator: " → "))
            }
            colour[i] = 1
            path.append(i)
            for d in dependencyIndices[i] { try visit(d) }
            path.removeLast()
            colour[i] = 2
        }
        for i in services.indices { try visit(i) }
        singletons = [AnyObject?](repeating: nil, count: services.count)
        compiled = true
    }

    var serviceCount: Int { services.count }

    /// A scope for one request's instances (a server keeps one per loop).
    public func makeScope() -> CCoreRequestScope { CCoreRequestScope(count: serviceCount) }

    /// Resolves `T` for the request whose instances live in `scope`; `runner`
    /// waits for async factories.
    public func resolve<T>(
        _ type: T.Type, scope: CCoreRequestScope, async runner: (@escaping @Sendable () async -> AnyObject) -> AnyObject
    ) -> T {
        guard let i = index[ObjectIdentifier(T.self)] else { fatalError("\(T.self) is not registered") }
        return resolve(i, scope: scope, runner: runner) as! T
    }

    private func resolve(
        _ i: Int, scope: CCoreRequestScope, runner: (@escaping @Sendable () async -> AnyObject) -> AnyObject
    ) -> AnyObject {
        let service = services[i]
        switch service.scope {
        case .singleton:
            pthread_mutex_lock(&singletonLock)
            if let existing = singletons[i] {
                pthread_mutex_unlock(&singletonLock)
                return existing
            }
            pthread_mutex_unlock(&singletonLock)
            let made = make(i, scope: scope, runner: runner)
            pthread_mutex_lock(&singletonLock)
            // Another loop may have made it meanwhile: the first one stays.
            if singletons[i] == nil { singletons[i] = made }
            let kept = singletons[i]!
            pthread_mutex_unlock(&singletonLock)
            return kept
        case .request:
            if let existing = scope.slots[i] { return existing }
            let made = make(i, scope: scope, runner: runner)
            scope.slots[i] = made
            if service.release != nil { scope.made.append(i) }
            return made
        case .transient:
            return make(i, scope: scope, runner: runner)
        }
    }

    private func make(
        _ i: Int, scope: CCoreRequestScope, runner: (@escaping @Sendable () async -> AnyObject) -> AnyObject
    ) -> AnyObject {
        let dependencies = dependencyIndices[i].map { resolve($0, scope: scope, runner: runner) }
        let service = services[i]
        if let makeAsync = service.makeAsync {
            let values = UncheckedSendable(dependencies)
            return runner { await makeAsync(values.value) }
        }
        return service.make(Dependencies(values: dependencies))
    }

    /// Ends a request: releases what it holds (pooled resources go back).
    public func end(_ scope: CCoreRequestScope) {
        for i in scope.made {
            if let instance = scope.slots[i] { services[i].release?(instance) }
        }
        scope.made.removeAll(keepingCapacity: true)
        for i in 0..<scope.slots.count { scope.slots[i] = nil }
    }
}

/// One loop's slots for the instances of the request it is serving.
public final class CCoreRequestScope {
    var slots: [AnyObject?]
    var made: [Int] = []
    var active = false

    init(count: Int) {
        slots = [AnyObject?](repeating: nil, count: count)
        made.reserveCapacity(count)
    }
}

struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

#if canImport(Glibc)
    import Glibc
#endif
