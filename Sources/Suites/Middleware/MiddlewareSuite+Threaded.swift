import SuiteKit
import Posix
import ThreadedStack

/// The middleware suite on the threaded stack: ten Django-style middleware
/// with request and response hooks, wrapped around each view.
extension MiddlewareSuite: ThreadedSuite {
    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        let sink = LogSink()
        let limiter = RateLimiter(policy: MiddlewarePolicy.ratePolicy)
        let layers: [any ThreadedMiddleware] = [
            RequestIDLayer(), LoggingLayer(sink: sink), SecurityLayer(), CORSLayer(), AuthLayer(),
            RateLimitLayer(limiter: limiter), AsyncContextLayer(), TimingLayer(), CacheControlLayer(),
            AcceptGuardLayer(),
        ]
        for level in MiddlewarePolicy.levels {
            let chain = Array(layers.prefix(level))
            try app.route("/mw\(level)/hello", middleware: chain) { request in
                func value(_ key: String) -> JSON { request.attributes[key].map(JSON.string) ?? .null }
                return .json([
                    "message": "hello", "layers": .int(level), "user": value("user"),
                    "request_id": value("request_id"), "context": value("context"),
                ])
            }
            try app.route("/mw\(level)/hello", methods: ["OPTIONS"], middleware: chain) { _ in
                Response(status: 204, headers: [("Allow", MiddlewarePolicy.corsMethods)])
            }
        }
        try app.route("/mw/stats") { _ in .json(["logged": .int(sink.total)]) }
    }
}

private func errorResponse(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) -> Response
{
    var response = Response.json(["error": .string(message)], status: status)
    response.headers += headers
    return response
}

extension Response {
    /// Sets a header, replacing any of the same name.
    mutating func set(_ name: String, _ value: String) {
        headers.removeAll { $0.name.lowercased() == name.lowercased() }
        headers.append((name, value))
    }
}

struct RequestIDLayer: ThreadedMiddleware {
    func processRequest(_ request: inout Request) throws -> Response? {
        request.attributes["request_id"] = request.header("X-Request-Id") ?? RequestID.next()
        return nil
    }

    func processResponse(_ request: Request, _ response: inout Response) {
        if let id = request.attributes["request_id"] { response.set("X-Request-Id", id) }
    }
}

struct LoggingLayer: ThreadedMiddleware {
    let sink: LogSink
    func processResponse(_ request: Request, _ response: inout Response) {
        let micros = Int((Clock.monotonicNanos() - request.startedAt) / 1000)
        sink.append(LogSink.Record(method: request.method, path: request.path, status: response.status, micros: micros))
    }
}

struct SecurityLayer: ThreadedMiddleware {
    func processResponse(_ request: Request, _ response: inout Response) {
        for (name, value) in MiddlewarePolicy.securityHeaders { response.set(name, value) }
    }
}

struct CORSLayer: ThreadedMiddleware {
    func processRequest(_ request: inout Request) throws -> Response? {
        guard request.method == "OPTIONS", request.header("Access-Control-Request-Method") != nil,
            request.header("Origin") == MiddlewarePolicy.allowedOrigin
        else { return nil }
        return Response(
            status: 204,
            headers: [
                ("Access-Control-Allow-Methods", MiddlewarePolicy.corsMethods),
                ("Access-Control-Allow-Headers", MiddlewarePolicy.corsHeaders),
                ("Access-Control-Max-Age", MiddlewarePolicy.corsMaxAge),
            ])
    }

    func processResponse(_ request: Request, _ response: inout Response) {
        guard request.header("Origin") == MiddlewarePolicy.allowedOrigin else { return }
        response.set("Access-Control-Allow-Origin", MiddlewarePolicy.allowedOrigin)
        response.headers.append(("Vary", "Origin"))
    }
}

struct AuthLayer: ThreadedMiddleware {
    func processRequest(_ request: inout Request) throws -> Response? {
        switch JWT.verify(authorization: request.header("Authorization"), secret: MiddlewarePolicy.secret) {
        case .success(let claims):
            request.attributes["user"] = claims.subject
            return nil
        case .failure(let rejection):
            return errorResponse(
                401, rejection.rawValue, headers: [("WWW-Authenticate", #"Bearer error="invalid_token""#)])
        }
    }
}

struct RateLimitLayer: ThreadedMiddleware {
    let limiter: RateLimiter
    func processRequest(_ request: inout Request) throws -> Response? {
        let decision = limiter.take(
            MiddlewarePolicy.clientKey(header: request.header("X-Client-Key"), subject: request.attributes["user"]))
        return decision.allowed
            ? nil : errorResponse(429, "rate limited", headers: [("Retry-After", String(decision.retryAfter))])
    }
}

struct AsyncContextLayer: ThreadedMiddleware {
    func processRequest(_ request: inout Request) throws -> Response? {
        request.attributes["context"] = request.awaitBlocking { await AsyncContextSource.resolve() }
        return nil
    }
}

struct TimingLayer: ThreadedMiddleware {
    func processResponse(_ request: Request, _ response: inout Response) {
        let millis = Double((Clock.monotonicNanos() - request.startedAt) / 1000) / 1000
        response.headers.append(("Server-Timing", "app;dur=\(millis)"))
    }
}

struct CacheControlLayer: ThreadedMiddleware {
    func processResponse(_ request: Request, _ response: inout Response) { response.set("Cache-Control", "no-store") }
}

struct AcceptGuardLayer: ThreadedMiddleware {
    func processRequest(_ request: inout Request) throws -> Response? {
        MiddlewarePolicy.acceptsJSON(request.header("Accept"))
            ? nil : errorResponse(406, "only application/json is available")
    }
}
