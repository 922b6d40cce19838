import CCoreStack
import SuiteKit
import Posix

/// The middleware suite on ccore: ten pre/post steps, compiled into each
/// route's chain at start-up.
extension MiddlewareSuite: CCoreSuite {
    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        let sink = LogSink()
        let limiter = RateLimiter(policy: MiddlewarePolicy.ratePolicy)
        let layers = middlewareLayers(sink: sink, limiter: limiter)
        for level in MiddlewarePolicy.levels {
            let chain = Array(layers.prefix(level))
            try app.get("/mw\(level)/hello", middleware: chain) { ex in
                let context = ex.context
                ex.json { w in
                    w.beginObject()
                    w.key("message"); w.string("hello")
                    w.key("layers"); w.int(level)
                    w.key("user"); if let user = context.user { w.string(user) } else { w.null() }
                    w.key("request_id"); if let id = context.requestID { w.string(id) } else { w.null() }
                    w.key("context"); if let value = context.asyncValue { w.string(value) } else { w.null() }
                    w.endObject()
                }
            }
            // A preflight is answered by the CORS step; without it, OPTIONS lists the methods.
            try app.options("/mw\(level)/hello", middleware: chain) { ex in
                ex.addHeader("Allow", MiddlewarePolicy.corsMethods)
                ex.respond(status: 204, contentType: "text/plain", body: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
        try app.get("/mw/stats") { ex in
            let logged = sink.total
            ex.json { w in
                w.beginObject(); w.key("logged"); w.int(logged); w.endObject()
            }
        }
    }

    static func middlewareLayers(sink: LogSink, limiter: RateLimiter) -> [CCoreMiddleware] {
        [
            CCoreMiddleware(
                name: "request-id", priority: 10,
                before: { ex in
                    ex.context.requestID = ex.header("X-Request-Id") ?? RequestID.next()
                    return nil
                },
                after: { ex, _ in
                    if let id = ex.context.requestID { ex.addHeader("X-Request-Id", id) }
                }),
            CCoreMiddleware(
                name: "logging", priority: 20,
                after: { ex, status in
                    let micros = Int((Clock.monotonicNanos() - ex.context.startedAt) / 1000)
                    sink.append(LogSink.Record(method: ex.method, path: ex.path, status: status, micros: micros))
                }),
            CCoreMiddleware(
                name: "security", priority: 30,
                after: { ex, _ in
                    for (name, value) in MiddlewarePolicy.securityHeaders { ex.addHeader(name, value) }
                }),
            CCoreMiddleware(
                name: "cors", priority: 40,
                before: { ex in
                    guard ex.method == "OPTIONS", ex.header("Access-Control-Request-Method") != nil,
                        ex.header("Origin") == MiddlewarePolicy.allowedOrigin
                    else { return nil }
                    return CCoreAnswer(
                        status: 204, json: "",
                        headers: [
                            ("Access-Control-Allow-Methods", MiddlewarePolicy.corsMethods),
                            ("Access-Control-Allow-Headers", MiddlewarePolicy.corsHeaders),
                            ("Access-Control-Max-Age", MiddlewarePolicy.corsMaxAge),
                        ])
                },
                after: { ex, _ in
                    if ex.header("Origin") == MiddlewarePolicy.allowedOrigin {
                        ex.addHeader("Access-Control-Allow-Origin", MiddlewarePolicy.allowedOrigin)
                        ex.addHeader("Vary", "Origin")
                    }
                }),
            CCoreMiddleware(
                name: "auth", priority: 50,
                before: { ex in
                    switch JWT.verify(authorization: ex.header("Authorization"), secret: MiddlewarePolicy.secret) {
                    case .success(let claims):
                        ex.context.user = claims.subject
                        return nil
                    case .failure(let rejection):
                        return CCoreAnswer(
                            status: 401, json: #"{"error":"\#(rejection.rawValue)"}"#,
                            headers: [("WWW-Authenticate", #"Bearer error="invalid_token""#)])
                    }
                }),
            CCoreMiddleware(
                name: "rate-limit", priority: 60,
                before: { ex in
                    let decision = limiter.take(
                        MiddlewarePolicy.clientKey(header: ex.header("X-Client-Key"), subject: ex.context.user))
                    return decision.allowed
                        ? nil
                        : CCoreAnswer(
                            status: 429, json: #"{"error":"rate limited"}"#,
                            headers: [("Retry-After", String(decision.retryAfter))])
                }),
            CCoreMiddleware(
                name: "async-context", priority: 70,
                before: { ex in
                    ex.context.asyncValue = ex.awaitBlocking { await AsyncContextSource.resolve() }
                    return nil
                }),
            CCoreMiddleware(
                name: "timing", priority: 80,
                after: { ex, _ in
                    let millis = Double((Clock.monotonicNanos() - ex.context.startedAt) / 1000) / 1000
                    ex.addHeader("Server-Timing", "app;dur=\(millis)")
                }),
            CCoreMiddleware(
                name: "cache-control", priority: 90,
                after: { ex, _ in
                    ex.addHeader("Cache-Control", "no-store")
                }),
            CCoreMiddleware(
                name: "accept-guard", priority: 100,
                before: { ex in
                    MiddlewarePolicy.acceptsJSON(ex.header("Accept"))
                        ? nil
                        : CCoreAnswer(status: 406, json: #"{"error":"only application/json is available"}"#)
                }),
        ]
    }
}
