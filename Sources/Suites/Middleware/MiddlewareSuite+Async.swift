import AsyncStack
import SuiteKit
import NIOHTTP1
import Posix

/// The middleware suite on the async stack: ten async functions, each
/// wrapping the rest of the chain.
extension MiddlewareSuite: AsyncStackSuite {
    struct Hello: Encodable {
        let message: String
        let layers: Int
        let user: String?
        let request_id: String?
        let context: String?

        func encode(to encoder: Encoder) throws {
            // Absent values are sent as null, as the contract asks.
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(message, forKey: .message)
            try c.encode(layers, forKey: .layers)
            try c.encode(user, forKey: .user)
            try c.encode(request_id, forKey: .request_id)
            try c.encode(context, forKey: .context)
        }

        enum CodingKeys: String, CodingKey { case message, layers, user, request_id, context }
    }

    struct Stats: Encodable { let logged: Int }

    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        let sink = LogSink()
        let limiter = RateLimiter(policy: MiddlewarePolicy.ratePolicy)
        let layers: [any AsyncMiddleware] = [
            RequestIDMiddleware(), LoggingMiddleware(sink: sink), SecurityHeadersMiddleware(), CORSMiddleware(),
            AuthMiddleware(), RateLimitMiddleware(limiter: limiter), AsyncContextMiddleware(), TimingMiddleware(),
            CacheControlMiddleware(), AcceptGuardMiddleware(),
        ]
        for level in MiddlewarePolicy.levels {
            let chain = Array(layers.prefix(level))
            try app.get("/mw\(level)/hello", middleware: chain) { request in
                try .json(
                    Hello(
                        message: "hello", layers: level, user: request.state.user, request_id: request.state.requestID,
                        context: request.state.values["context"]))
            }
            try app.options("/mw\(level)/hello", middleware: chain) { _ in
                var headers = HTTPHeaders()
                headers.add(name: "Allow", value: MiddlewarePolicy.corsMethods)
                return AsyncResponse(status: .noContent, headers: headers)
            }
        }
        try app.get("/mw/stats") { _ in try .json(Stats(logged: sink.total)) }
    }
}

struct RequestIDMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        let id = request.header("X-Request-Id") ?? RequestID.next()
        request.state.requestID = id
        var response = try await next(request)
        response.headers.replaceOrAdd(name: "X-Request-Id", value: id)
        return response
    }
}

struct LoggingMiddleware: AsyncMiddleware {
    let sink: LogSink
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        let response = try await next(request)
        let micros = Int((Clock.monotonicNanos() - request.state.startedAt) / 1000)
        sink.append(
            LogSink.Record(
                method: request.method.rawValue, path: String(request.path),
                status: Int(response.status.code), micros: micros))
        return response
    }
}

struct SecurityHeadersMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        var response = try await next(request)
        for (name, value) in MiddlewarePolicy.securityHeaders {
            response.headers.replaceOrAdd(name: name, value: value)
        }
        return response
    }
}

struct CORSMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        let allowed = request.header("Origin") == MiddlewarePolicy.allowedOrigin
        var response: AsyncResponse
        if request.method == .OPTIONS && allowed && request.header("Access-Control-Request-Method") != nil {
            response = AsyncResponse(status: .noContent)
            response.headers.add(name: "Access-Control-Allow-Methods", value: MiddlewarePolicy.corsMethods)
            response.headers.add(name: "Access-Control-Allow-Headers", value: MiddlewarePolicy.corsHeaders)
            response.headers.add(name: "Access-Control-Max-Age", value: MiddlewarePolicy.corsMaxAge)
        } else {
            response = try await next(request)
        }
        if allowed {
            response.headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: MiddlewarePolicy.allowedOrigin)
            response.headers.add(name: "Vary", value: "Origin")
        }
        return response
    }
}

struct AuthMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        switch JWT.verify(authorization: request.header("Authorization"), secret: MiddlewarePolicy.secret) {
        case .success(let claims):
            request.state.user = claims.subject
            return try await next(request)
        case .failure(let rejection):
            var response = AsyncResponse.error(.unauthorized, rejection.rawValue)
            response.headers.add(name: "WWW-Authenticate", value: #"Bearer error="invalid_token""#)
            return response
        }
    }
}

struct RateLimitMiddleware: AsyncMiddleware {
    let limiter: RateLimiter
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        let decision = limiter.take(
            MiddlewarePolicy.clientKey(header: request.header("X-Client-Key"), subject: request.state.user))
        guard decision.allowed else {
            var response = AsyncResponse.error(.tooManyRequests, "rate limited")
            response.headers.add(name: "Retry-After", value: String(decision.retryAfter))
            return response
        }
        return try await next(request)
    }
}

struct AsyncContextMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        request.state.values["context"] = await AsyncContextSource.resolve()
        return try await next(request)
    }
}

struct TimingMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        var response = try await next(request)
        let millis = Double((Clock.monotonicNanos() - request.state.startedAt) / 1000) / 1000
        response.headers.add(name: "Server-Timing", value: "app;dur=\(millis)")
        return response
    }
}

struct CacheControlMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        var response = try await next(request)
        response.headers.replaceOrAdd(name: "Cache-Control", value: "no-store")
        return response
    }
}

struct AcceptGuardMiddleware: AsyncMiddleware {
    func handle(_ request: AsyncRequest, next: AsyncHandler) async throws -> AsyncResponse {
        guard MiddlewarePolicy.acceptsJSON(request.header("Accept")) else {
            return .error(.notAcceptable, "only application/json is available")
        }
        return try await next(request)
    }
}
