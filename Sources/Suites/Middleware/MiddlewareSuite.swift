import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// The middleware suite: one endpoint behind 0, 1, 5 and 10 layers (see
/// `MiddlewarePolicy` for the layers), so the figures show what a layer costs.
/// The load sends valid tokens, an allowed origin and a roomy rate-limit key,
/// so no server is measured on an error path by accident; the verifier
/// checks every rejection path before any load.
public enum MiddlewareSuite: SuiteDefinition {
    /// A token valid for a week from start-up, for the load and the checks.
    public static let token = JWT.sign(
        subject: "user-42", expires: Int(time(nil)) + 7 * 86_400, secret: MiddlewarePolicy.secret)

    static func headers(
        token: String? = MiddlewareSuite.token, clientKey: String = "client-load",
        origin: String? = MiddlewarePolicy.allowedOrigin, accept: String = "application/json",
        requestID: String? = nil
    ) -> [(name: String, value: String)] {
        var list: [(name: String, value: String)] = [("Accept", accept), ("X-Client-Key", clientKey)]
        if let token { list.append(("Authorization", "Bearer \(token)")) }
        if let origin { list.append(("Origin", origin)) }
        if let requestID { list.append(("X-Request-Id", requestID)) }
        return list
    }

    /// The answer `GET /mw{level}/hello` must get with valid credentials.
    static func hello(level: Int, headers: [(name: String, value: String)] = headers(), requestID: String? = nil)
        -> RequestSpec
    {
        var required: [(name: String, value: String?)] = []
        if level >= 1 { required.append(("X-Request-Id", requestID)) }
        if level >= 3 { required += MiddlewarePolicy.securityHeaders.map { ($0.0, Optional($0.1)) } }
        if level >= 4 { required.append(("Access-Control-Allow-Origin", MiddlewarePolicy.allowedOrigin)) }
        if level >= 8 { required.append(("Server-Timing", nil)) }
        if level >= 9 { required.append(("Cache-Control", "no-store")) }
        var expectation = Expectation(
            status: 200, mediaType: "application/json",
            body: .json { doc in
                guard doc["message"]?.stringValue == "hello" else { return "expected message \"hello\", got \(doc)" }
                guard doc["layers"]?.intValue == Int64(level) else {
                    return "expected layers \(level), got \(doc["layers"]?.description ?? "none")"
                }
                let user = doc["user"]?.stringValue
                if level >= 5 && user != "user-42" {
                    return "expected user \"user-42\" from the token, got \(doc["user"]?.description ?? "none")"
                }
                if level < 5 && user != nil { return "no authentication at \(level) layers, but user is \(user!)" }
                let context = doc["context"]?.stringValue
                if level >= 7 && context != MiddlewarePolicy.contextValue {
                    return
                        "expected context \"\(MiddlewarePolicy.contextValue)\", got \(doc["context"]?.description ?? "none")"
                }
                if level < 7 && context != nil {
                    return "no async layer at \(level) layers, but context is \(context!)"
                }
                return nil
            })
        expectation.requiredHeaders = required
        if level < 3 { expectation.forbiddenHeaders = ["X-Frame-Options"] }
        return RequestSpec(target: "/mw\(level)/hello", headers: headers, expectation: expectation)
    }

    /// A rejection at `level` layers: the status, and what outer layers still add.
    static func rejected(
        level: Int, status: Int, headers: [(name: String, value: String)], extra: [(name: String, value: String?)] = []
    ) -> RequestSpec {
        var expectation = Expectation(
            status: status, mediaType: "application/json", recommendedHeaders: ["Date", "Server", "Content-Length"])
        expectation.requiredHeaders =
            [("X-Request-Id", nil)] + MiddlewarePolicy.securityHeaders.map { ($0.0, Optional($0.1)) } + extra
        return RequestSpec(target: "/mw\(level)/hello", headers: headers, expectation: expectation)
    }

    static func token(
        header: String, payload: String, secret: [UInt8] = MiddlewarePolicy.secret, signature: String? = nil
    ) -> String {
        let h = Base64URL.encode(Array(header.utf8))
        let p = Base64URL.encode(Array(payload.utf8))
        let s = signature ?? Base64URL.encode(HMACSHA256.mac(key: secret, message: Array("\(h).\(p)".utf8)))
        return "\(h).\(p).\(s)"
    }

    static var authChecks: [NamedRequest] {
        let future = Int(time(nil)) + 3600
        let cases: [(String, String?)] = [
            ("no token", nil),
            ("malformed token", "not-a-jwt"),
            ("two-part token", "abc.def"),
            ("token that is not base64url", "a$b.c$d.e$f"),
            (
                "wrong signature",
                token(
                    header: #"{"alg":"HS256","typ":"JWT"}"#, payload: #"{"sub":"user-42","exp":\#(future)}"#,
                    secret: Array("another-secret".utf8))
            ),
            (
                "expired token",
                JWT.sign(subject: "user-42", expires: Int(time(nil)) - 60, secret: MiddlewarePolicy.secret)
            ),
            (
                "alg none",
                token(
                    header: #"{"alg":"none","typ":"JWT"}"#, payload: #"{"sub":"user-42","exp":\#(future)}"#,
                    signature: "")
            ),
            (
                "alg HS512",
                token(header: #"{"alg":"HS512","typ":"JWT"}"#, payload: #"{"sub":"user-42","exp":\#(future)}"#)
            ),
            ("token without exp", token(header: #"{"alg":"HS256","typ":"JWT"}"#, payload: #"{"sub":"user-42"}"#)),
        ]
        return [5, 10].flatMap { level in
            cases.map { name, tok in
                NamedRequest(
                    "\(level) layers: \(name) → 401",
                    rejected(
                        level: level, status: 401, headers: headers(token: tok), extra: [("WWW-Authenticate", nil)]),
                    case: "mw\(level)")
            }
        }
    }

    public static let contract = SuiteContract(
        name: "middleware",
        summary:
            "one endpoint behind 0, 1, 5 and 10 middleware layers (JWT, CORS, rate limit, logging, security headers, async work)",
        routes: MiddlewarePolicy.levels.map { level in
            RouteDescription(
                method: "GET", path: "/mw\(level)/hello",
                answer:
                    "200 JSON {\"message\":\"hello\",\"layers\":\(level),\"user\":<sub or null>,\"request_id\":<id or null>,\"context\":<\"resolved\" or null>} after the first \(level) layers"
            )
        } + [
            RouteDescription(
                method: "OPTIONS", path: "/mw{4+}/hello",
                answer: "a CORS preflight: 204 with Access-Control-Allow-Origin/-Methods/-Headers/-Max-Age"),
            RouteDescription(
                method: "GET", path: "/mw/stats",
                answer: "200 JSON {\"logged\":<records in the logging sink>} (no middleware)"),
        ],
        cases: MiddlewarePolicy.levels.map { level in
            LoadCase(name: "mw\(level)", summary: "GET /mw\(level)/hello through \(level) layers") { random in
                hello(level: level, headers: headers(clientKey: "client-\(Int.random(in: 1...1000, using: &random))"))
            }
        },
        checks: MiddlewarePolicy.levels.map { NamedRequest("\($0) layers", hello(level: $0), case: "mw\($0)") } + [
            NamedRequest(
                "request id is echoed", hello(level: 10, headers: headers(requestID: "abc-123"), requestID: "abc-123"),
                case: "mw10"),
            NamedRequest(
                "disallowed origin gets no CORS header",
                {
                    var spec = hello(level: 5, headers: headers(origin: "https://evil.example"))
                    spec.expectation.requiredHeaders.removeAll { $0.name == "Access-Control-Allow-Origin" }
                    spec.expectation.forbiddenHeaders = ["Access-Control-Allow-Origin"]
                    return spec
                }(), case: "mw5"),
            NamedRequest(
                "CORS preflight is answered before authentication",
                {
                    var expectation = Expectation(status: 204, recommendedHeaders: [])
                    expectation.requiredHeaders = [
                        ("Access-Control-Allow-Origin", MiddlewarePolicy.allowedOrigin),
                        ("Access-Control-Allow-Methods", nil), ("Access-Control-Allow-Headers", nil),
                        ("Access-Control-Max-Age", MiddlewarePolicy.corsMaxAge),
                    ]
                    return RequestSpec(
                        method: "OPTIONS", target: "/mw10/hello",
                        headers: [
                            ("Origin", MiddlewarePolicy.allowedOrigin), ("Access-Control-Request-Method", "GET"),
                            ("Access-Control-Request-Headers", "Authorization"),
                        ],
                        expectation: expectation)
                }(), case: "mw10"),
            NamedRequest(
                "Accept without JSON → 406", rejected(level: 10, status: 406, headers: headers(accept: "text/html")),
                case: "mw10"),
            NamedRequest(
                "layers below authentication need no token", hello(level: 1, headers: headers(token: nil)), case: "mw1"),
        ] + authChecks,
        scenarios: [
            Scenario("logging writes one record per request", workloads: ["mw5", "mw10"]) { context in
                let client = context.client
                func logged() throws -> Int64? {
                    let stats = try client.send(RequestSpec(target: "/mw/stats", expectation: Expectation(status: 200)))
                    return JSONValue.parse(stats.body)?["logged"]?.intValue
                }
                guard let before = try logged() else { return ["GET /mw/stats does not answer {\"logged\":<n>}"] }
                for _ in 0..<3 { _ = try client.send(hello(level: 5)) }
                _ = try client.send(hello(level: 0))  // no logging layer
                _ = try client.send(rejected(level: 5, status: 401, headers: headers(token: nil), extra: []))
                guard let after = try logged() else { return ["GET /mw/stats stopped answering"] }
                return after - before == 4
                    ? [] : ["4 logged requests (3 answered, 1 refused) moved the log count by \(after - before)"]
            },
            Scenario("the rate limit answers 429 with Retry-After", workloads: ["mw10"]) { context in
                let client = context.client
                let key = "tight-\(UInt64.random(in: 1...UInt64.max))"
                var problems: [String] = []
                for n in 1...3 {
                    let response = try client.send(
                        RequestSpec(
                            target: "/mw10/hello", headers: headers(clientKey: key),
                            expectation: Expectation(status: 200)))
                    if n <= 2 && response.status != 200 {
                        problems.append("request \(n) of a fresh key got \(response.status), expected 200")
                    }
                    if n == 3 {
                        if response.status != 429 {
                            problems.append("request 3 of a key allowed 2 got \(response.status), expected 429")
                        }
                        if let retry = response.header("Retry-After"), let seconds = Int(retry), seconds >= 1 {
                        } else {
                            problems.append("429 without a Retry-After of whole seconds")
                        }
                    }
                }
                return problems
            },
        ],
        baseline: SuiteBaseline(workload: "mw0", column: "Middleware Overhead")
    )
}
