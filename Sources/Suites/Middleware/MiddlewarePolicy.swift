/// What the middleware suite's layers do, the same on every stack (the
/// mechanism that runs them is each stack's own). Layers, outermost first:
///
///  1. request id     — `X-Request-Id`: the request's own, or a new one
///  2. logging        — one record per request into an in-memory sink
///  3. security       — `X-Content-Type-Options`, `X-Frame-Options`, `Referrer-Policy`, `Content-Security-Policy`
///  4. CORS           — preflight `OPTIONS` answered 204; `Access-Control-Allow-Origin` for the allowed origin
///  5. authentication — HS256 bearer token, else 401 with `WWW-Authenticate`
///  6. rate limit     — token bucket per `X-Client-Key` (else the token's subject), else 429 with `Retry-After`
///  7. async context  — awaits a value produced asynchronously, put in the answer as `context`
///  8. timing         — `Server-Timing: app;dur=<ms>`
///  9. cache control  — `Cache-Control: no-store`
/// 10. accept guard   — 406 unless `Accept` allows JSON
///
/// Routes `/mw{0,1,5,10}/hello` run the first 0, 1, 5 and 10 layers. Outer
/// layers see the answers inner layers give early (a 401 still carries the
/// request id and security headers, and is logged).
public enum MiddlewarePolicy {
    public static let levels = [0, 1, 5, 10]
    public static let layerNames = [
        "request-id", "logging", "security", "cors", "auth", "rate-limit",
        "async-context", "timing", "cache-control", "accept-guard",
    ]
    public static let secret = Array("catbench-middleware-secret".utf8)
    public static let allowedOrigin = "https://app.example"
    public static let securityHeaders: [(String, String)] = [
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "no-referrer"),
        ("Content-Security-Policy", "default-src 'none'"),
    ]
    public static let corsMethods = "GET, OPTIONS"
    public static let corsHeaders = "Authorization, Content-Type, X-Client-Key, X-Request-Id"
    public static let corsMaxAge = "600"
    public static let contextValue = "resolved"

    /// Keys starting `tight-` get 2 requests and then one every 2 s (for the
    /// verifier to see a 429); every other key gets more than any load sends.
    public static func ratePolicy(_ key: String) -> (capacity: Double, perSecond: Double) {
        key.hasPrefix("tight-") ? (2, 0.5) : (10_000_000, 10_000_000)
    }

    /// The rate-limit key: the `X-Client-Key` header, else the token's subject.
    public static func clientKey(header: String?, subject: String?) -> String {
        header ?? subject ?? "anonymous"
    }

    /// True when an `Accept` value allows a JSON answer (absent allows anything).
    public static func acceptsJSON(_ accept: String?) -> Bool {
        guard let accept else { return true }
        return accept.split(separator: ",").contains { part in
            let type = part.split(separator: ";").first.map { String($0).trimmed().lowercased() } ?? ""
            return type == "application/json" || type == "*/*" || type == "application/*"
        }
    }
}

/// A counter-based request id, cheap and unique within the process.
public enum RequestID {
    private static let counter = AtomicCounter()

    public static func next() -> String { "req-\(counter.next())" }
}

extension String {
    func trimmed() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
