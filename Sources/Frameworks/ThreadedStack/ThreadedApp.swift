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

    public init() {}

    /// Registers `handler` for `pattern` and `methods` (HEAD is answered by GET
    /// routes), wrapped in `middleware`, first outermost.
    public func route(_ pattern: String, methods: [String] = ["GET"], middleware: [any ThreadedMiddleware] = [],
                      _ handler: @escaping Handler) throws {
        precondition(!frozen, "routes must be added before the server starts")
        try router.add(pattern, methods: Set(methods), handler: middleware.wrap(handler))
    }

    func freeze() { frozen = true }
}
