import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The threaded stack's dependency injection: an injector with bindings
/// (python's `injector` style). A request gets a child injector that caches
/// its request-scoped instances and closes them when the request ends;
/// singletons live in the root; transients are made at every `get`.
public final class Injector: @unchecked Sendable {
    public enum Scope: Sendable { case singleton, request, transient }

    struct Binding {
        let name: String
        let scope: Scope
        let dependsOn: [ObjectIdentifier]
        let make: (RequestInjector) throws -> AnyObject
        let close: ((AnyObject) -> Void)?
    }

    public struct BindingError: Error, CustomStringConvertible {
        public let description: String
    }

    private var bindings: [ObjectIdentifier: Binding] = [:]
    private var names: [ObjectIdentifier: String] = [:]
    private var singletons: [ObjectIdentifier: AnyObject] = [:]
    private var lock = pthread_mutex_t()

    public init() { pthread_mutex_init(&lock, nil) }
    deinit { pthread_mutex_destroy(&lock) }

    /// Binds `T`; checks at once that the bindings so far have no cycle.
    public func bind<T: AnyObject>(
        _ type: T.Type, scope: Scope, dependsOn: [Any.Type] = [],
        close: ((T) -> Void)? = nil, _ make: @escaping (RequestInjector) throws -> T
    ) throws {
        let key = ObjectIdentifier(T.self)
        bindings[key] = Binding(
            name: "\(T.self)", scope: scope, dependsOn: dependsOn.map { ObjectIdentifier($0) },
            make: { try make($0) }, close: close.map { c in { c($0 as! T) } })
        names[key] = "\(T.self)"
        try checkCycles(from: key)
    }

    private func checkCycles(from start: ObjectIdentifier) throws {
        var path: [ObjectIdentifier] = []
        func visit(_ key: ObjectIdentifier) throws {
            if let at = path.firstIndex(of: key) {
                let cycle = (path[at...] + [key]).map { names[$0] ?? "?" }
                throw BindingError(description: "dependency cycle: " + cycle.joined(separator: " → "))
            }
            guard let binding = bindings[key] else { return }  // bound later, checked then
            path.append(key)
            for next in binding.dependsOn { try visit(next) }
            path.removeLast()
        }
        try visit(start)
    }

    /// A child injector for one request; `bridge` runs the async work of async factories.
    public func requestInjector(bridge: ThreadExecutor) -> RequestInjector {
        RequestInjector(root: self, bridge: bridge)
    }

    func binding(_ key: ObjectIdentifier) throws -> Binding {
        guard let binding = bindings[key] else {
            throw BindingError(description: "nothing is bound to \(names[key] ?? "this type")")
        }
        return binding
    }

    func singleton(_ key: ObjectIdentifier, _ make: () throws -> AnyObject) rethrows -> AnyObject {
        pthread_mutex_lock(&lock)
        if let existing = singletons[key] {
            pthread_mutex_unlock(&lock)
            return existing
        }
        pthread_mutex_unlock(&lock)
        let made = try make()
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        if let existing = singletons[key] { return existing }
        singletons[key] = made
        return made
    }
}

/// The injector of one request.
public final class RequestInjector {
    let root: Injector
    let bridge: ThreadExecutor
    private var instances: [ObjectIdentifier: AnyObject] = [:]
    private var toClose: [(AnyObject, (AnyObject) -> Void)] = []

    init(root: Injector, bridge: ThreadExecutor) {
        self.root = root
        self.bridge = bridge
    }

    /// Waits for async work (an async factory) from a sync factory.
    public func awaitBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T { bridge.runBlocking(body) }

    public func get<T: AnyObject>(_ type: T.Type = T.self) throws -> T {
        try get(ObjectIdentifier(T.self)) as! T
    }

    private func get(_ key: ObjectIdentifier) throws -> AnyObject {
        let binding = try root.binding(key)
        switch binding.scope {
        case .singleton:
            return try root.singleton(key) { try binding.make(self) }
        case .request:
            if let existing = instances[key] { return existing }
            let made = try binding.make(self)
            instances[key] = made
            if let close = binding.close { toClose.append((made, close)) }
            return made
        case .transient:
            let made = try binding.make(self)
            if let close = binding.close { toClose.append((made, close)) }
            return made
        }
    }

    /// Ends the request: closes what it made, last first.
    public func close() {
        for (instance, close) in toClose.reversed() { close(instance) }
        toClose.removeAll()
        instances.removeAll()
    }
}
