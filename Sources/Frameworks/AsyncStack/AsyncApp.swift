import NIOCore
import Posix
import NIOHTTP1
import WireFormat

/// An application of the async stack: `async` handlers on `{name}` routes.
///
///     let app = AsyncApp()
///     try app.get("/users/{id}") { request in
///         let id = try request.parameters.require("id", as: Int.self)
///         return try .json(User(id: id))
///     }
///     let server = try AsyncServer(app: app, configuration: .init(port: 8080))
public final class AsyncApp: Sendable {
    let router = TrieRouter()
    let mounts = Mounts()
    let dependencies = AppDependencies()
    /// Told of every answer of the routes registered after it is set (metrics).
    let observing: (any RouteObserving)?

    public init(observing: (any RouteObserving)? = nil) {
        self.observing = observing
    }

    /// A resolver as one request gets (for measuring resolution outside HTTP).
    public func makeResolver() -> DependencyResolver { DependencyResolver(app: dependencies) }

    /// Declares the dependencies handlers use, and checks them for cycles now.
    public func declare(_ dependencies: [AnyDependency]) throws {
        try AppDependencies.check(dependencies)
    }

    public func on(
        _ method: HTTPMethod, _ path: String, middleware: [any AsyncMiddleware] = [], _ handler: @escaping AsyncHandler
    ) throws {
        try router.add(method, path, observed(method.rawValue, path, middleware.wrap(handler)))
    }

    /// `wrapped`, telling the app's observer (if any) of every answer.
    private func observed(_ method: String, _ pattern: String, _ wrapped: @escaping AsyncHandler) -> AsyncHandler {
        guard let observer = observing?.observer(method: method, pattern: pattern) else { return wrapped }
        // Outermost, so that answers the middleware give (401, 429) are counted too.
        return { request in
            do {
                let response = try await wrapped(request)
                observer.answered(
                    status: Int(response.status.code), nanoseconds: Clock.monotonicNanos() - request.state.startedAt)
                return response
            } catch let error as AsyncHTTPError {
                observer.answered(
                    status: Int(error.status.code), nanoseconds: Clock.monotonicNanos() - request.state.startedAt)
                throw error
            } catch {
                observer.answered(status: 500, nanoseconds: Clock.monotonicNanos() - request.state.startedAt)
                throw error
            }
        }
    }

    public func get(_ path: String, middleware: [any AsyncMiddleware] = [], _ handler: @escaping AsyncHandler) throws {
        try on(.GET, path, middleware: middleware, handler)
    }

    public func post(_ path: String, middleware: [any AsyncMiddleware] = [], _ handler: @escaping AsyncHandler) throws {
        try on(.POST, path, middleware: middleware, handler)
    }

    /// A sync handler: it runs on `pool`, as FastAPI runs a plain `def`
    /// endpoint in its thread pool, so it never holds an event loop.
    public func get(
        _ path: String, runningOn pool: WorkerPool, _ handler: @escaping @Sendable (AsyncRequest) -> AsyncResponse
    ) throws {
        try on(.GET, path) { request in await pool.run { handler(request) } }
    }

    public func options(_ path: String, middleware: [any AsyncMiddleware] = [], _ handler: @escaping AsyncHandler)
        throws
    {
        try on(.OPTIONS, path, middleware: middleware, handler)
    }

    /// Hands every path under `prefix/` that no route takes to `handler`
    /// (Starlette's `Mount`: a static folder, a sub-application); the
    /// request's `mountedPath` is the rest after `prefix/`, still percent-encoded.
    public func mount(_ prefix: String, _ handler: @escaping AsyncHandler) throws {
        guard prefix.hasPrefix("/"), !prefix.hasSuffix("/") else {
            throw TrieRouter.InvalidRoute(description: "mount '\(prefix)' must start with '/' and not end with it")
        }
        mounts.entries.append((prefix + "/", observed("GET", prefix + "/*", handler)))
    }

    /// Serves `files`' folder under `prefix` (GET and HEAD).
    public func staticFiles(_ prefix: String, _ files: StaticFiles) throws {
        try mount(prefix) { request in
            .file(files, path: String(request.mountedPath), method: request.method.rawValue, headers: request.headers)
        }
    }

    /// Routes `request` and runs its handler; errors become answers.
    func respond(to head: HTTPRequestHead, body: ByteBuffer?, on eventLoop: EventLoop) async -> AsyncResponse {
        let uri = head.uri[...]
        let question = uri.firstIndex(of: "?")
        let path = question.map { uri[..<$0] } ?? uri
        let query = question.map { uri[uri.index(after: $0)...] } ?? ""
        var outcome = router.match(head.method, path)
        if case .notFound = outcome, let (prefix, handler) = mounts.entries.first(where: { path.hasPrefix($0.0) }) {
            outcome = .found(handler, Parameters(values: [("*", path.dropFirst(prefix.count))]))
        }
        switch outcome {
        case .found(let handler, let parameters):
            let request = AsyncRequest(
                head: head, body: body, parameters: parameters, path: path, query: query,
                state: RequestState(startedAt: Clock.monotonicNanos(), app: dependencies),
                eventLoop: eventLoop)
            let response: AsyncResponse
            do {
                response = try await handler(request)
            } catch let error as AsyncHTTPError {
                response = .error(error.status, error.message)
            } catch {
                response = .error(.internalServerError, "internal error")
            }
            // Dependencies' cleanups run once the answer is known (FastAPI's code after `yield`).
            if let resolver = request.state.resolverIfMade { await resolver.close() }
            return response
        case .methodNotAllowed(let methods):
            var response = AsyncResponse.error(.methodNotAllowed, "method not allowed")
            response.headers.add(name: "Allow", value: methods.sorted().joined(separator: ", "))
            return response
        case .notFound:
            return .error(.notFound, "not found")
        }
    }
}

/// The app's mounts, in order; filled while the app is set up, read after.
final class Mounts: @unchecked Sendable {
    var entries: [(String, AsyncHandler)] = []
}
