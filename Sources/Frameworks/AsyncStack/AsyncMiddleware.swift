import NIOHTTP1

/// An async-stack middleware: an async function wrapping the rest of the
/// chain (Starlette's and Hummingbird's shape). It may answer without calling
/// `next`, and may change the answer `next` gives.
public protocol AsyncMiddleware: Sendable {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse
}

/// Values middleware hand inward for one request (Starlette's `request.state`).
public final class RequestState: @unchecked Sendable {
    public var requestID: String?
    public var user: String?
    public var values: [String: String] = [:]
    public let startedAt: UInt64
    private let app: AppDependencies
    private(set) var resolverIfMade: DependencyResolver?

    init(startedAt: UInt64, app: AppDependencies) {
        self.startedAt = startedAt
        self.app = app
    }

    /// This request's dependency resolver, made on first use.
    public var resolver: DependencyResolver {
        if let resolverIfMade { return resolverIfMade }
        let made = DependencyResolver(app: app)
        resolverIfMade = made
        return made
    }
}

extension Array where Element == any AsyncMiddleware {
    /// Wraps `handler` in the middleware, first element outermost — done once, when the route is added.
    func wrap(_ handler: @escaping AsyncHandler) -> AsyncHandler {
        reversed().reduce(handler) { next, middleware in
            { request in try await middleware.handle(request, next: next) }
        }
    }
}
