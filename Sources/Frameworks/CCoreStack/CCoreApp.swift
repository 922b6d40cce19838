import CCatCore
import WireFormat

/// An application of the ccore stack: sync Swift handlers on routes matched by
/// the C radix router. Patterns use `{name}`, `{name:int}` and `{name:path}`.
///
///     let app = CCoreApp()
///     try app.get("/users/{id:int}") { ex in
///         let id = ex.intParameter("id")!
///         ex.json { $0.beginObject(); $0.key("id"); $0.int(id); $0.endObject() }
///     }
///     let server = try CCoreServer(app: app, configuration: .init(port: 8080))
public final class CCoreApp: @unchecked Sendable {
    public typealias Handler = @Sendable (CCoreExchange) throws -> Void

    let router: OpaquePointer
    private(set) var routes: [CCoreRoute] = []
    /// The app's services; compiled when the server starts.
    public let container = CCoreContainer()
    /// Told of every answer of the routes (metrics); each route's observer is made at registration.
    let observing: (any RouteObserving)?

    public struct RouteError: Error, CustomStringConvertible {
        public let description: String
    }

    public init(observing: (any RouteObserving)? = nil) {
        router = cc_router_create()
        self.observing = observing
    }

    deinit { cc_router_destroy(router) }

    public func get(_ pattern: String, middleware: [CCoreMiddleware] = [], _ handler: @escaping Handler) throws {
        try route(CC_METHOD_GET, pattern, middleware: middleware, handler)
    }

    public func post(_ pattern: String, middleware: [CCoreMiddleware] = [], _ handler: @escaping Handler) throws {
        try route(CC_METHOD_POST, pattern, middleware: middleware, handler)
    }

    public func put(_ pattern: String, middleware: [CCoreMiddleware] = [], _ handler: @escaping Handler) throws {
        try route(CC_METHOD_PUT, pattern, middleware: middleware, handler)
    }

    public func delete(_ pattern: String, middleware: [CCoreMiddleware] = [], _ handler: @escaping Handler) throws {
        try route(CC_METHOD_DELETE, pattern, middleware: middleware, handler)
    }

    public func options(_ pattern: String, middleware: [CCoreMiddleware] = [], _ handler: @escaping Handler) throws {
        try route(CC_METHOD_OPTIONS, pattern, middleware: middleware, handler)
    }

    static func methodName(_ method: cc_method) -> String {
        switch method {
        case CC_METHOD_GET: return "GET"
        case CC_METHOD_POST: return "POST"
        case CC_METHOD_PUT: return "PUT"
        case CC_METHOD_DELETE: return "DELETE"
        case CC_METHOD_OPTIONS: return "OPTIONS"
        default: return "OTHER"
        }
    }

    /// Registers a route; its middleware chain is sorted by priority now, once.
    func route(_ method: cc_method, _ pattern: String, middleware: [CCoreMiddleware], _ handler: @escaping Handler)
        throws
    {
        var message = [CChar](repeating: 0, count: 256)
        let id = Int32(routes.count)
        let rc = cc_router_add(router, method, pattern, id, &message, message.count)
        guard rc == 0 else {
            throw RouteError(
                description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        routes.append(
            CCoreRoute(
                handler: handler, chain: middleware.sorted { $0.priority < $1.priority },
                observer: observing?.observer(method: Self.methodName(method), pattern: pattern)))
    }
}
