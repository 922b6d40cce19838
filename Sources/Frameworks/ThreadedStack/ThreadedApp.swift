import Posix
import WireFormat

/// An application of the threaded stack: sync handlers on Flask-style routes.
///
///     let app = ThreadedApp()
///     try app.route("/users/<int:id>") { request in
///         .json(["id": .int(request.intParameter("id")!)])
///     }
///     let server = try ThreadedServer(app: app, configuration: .init(port: 8080))
public final class ThreadedApp: @unchecked Sendable {
    private(set) var router = Router()
    /// The app's bindings; views get a per-request child as `request.injector`.
    public let injector = Injector()
    private var frozen = false
    /// Told of every answer of the routes (metrics).
    let observing: (any RouteObserving)?

    public init(observing: (any RouteObserving)? = nil) {
        self.observing = observing
    }

    /// Registers `handler` for `pattern` and `methods` (HEAD is answered by GET
    /// routes), wrapped in `middleware`, first outermost.
    public func route(
        _ pattern: String, methods: [String] = ["GET"], middleware: [any ThreadedMiddleware] = [],
        _ handler: @escaping Handler
    ) throws {
        precondition(!frozen, "routes must be added before the server starts")
        let wrapped = middleware.wrap(handler)
        guard let observer = observing?.observer(method: methods.joined(separator: ","), pattern: pattern) else {
            try router.add(pattern, methods: Set(methods), handler: wrapped)
            return
        }
        // Outermost, so that answers the middleware give (401, 429) are counted too.
        try router.add(pattern, methods: Set(methods)) { request in
            do {
                let response = try wrapped(request)
                observer.answered(status: response.status, nanoseconds: Clock.monotonicNanos() - request.startedAt)
                return response
            } catch let error as HTTPError {
                observer.answered(status: error.status, nanoseconds: Clock.monotonicNanos() - request.startedAt)
                throw error
            } catch {
                observer.answered(status: 500, nanoseconds: Clock.monotonicNanos() - request.startedAt)
                throw error
            }
        }
    }

    func freeze() { frozen = true }
}
