import SuiteKit

/// The dependency-injection suite: resolving one service, ten, and the whole
/// graph (see `DIServices`) per request. Answers carry instance ids, so the
/// verifier checks the scope rules themselves: a request-scoped service is one
/// instance within a request and a new one in the next, a singleton is one for
/// the server's life, a transient is new at every injection, and the pooled
/// connection goes back to the pool when the request ends.
public enum DISuite: SuiteDefinition {
    static let requestScoped = [
        "user_service", "user_repository", "db_connection", "logger_via_repository",
        "logger_via_audit", "request_context", "token_provider",
    ]
    static let singletons = ["config", "clock", "cache"]
    static let transients = ["notifier", "audit_event"]

    static func isID(_ value: JSONValue?) -> Bool {
        guard let text = value?.stringValue, let hash = text.firstIndex(of: "#") else { return false }
        return !text[..<hash].isEmpty && text[text.index(after: hash)...].first?.isNumber == true
    }

    /// The two resolutions of a `/di/graph` answer, or why it is not one.
    static func resolutions(_ doc: JSONValue) -> ([[String: JSONValue]], String?) {
        guard let list = doc["resolutions"]?.arrayValue, list.count == 2 else {
            return ([], "expected 2 resolutions in \"resolutions\"")
        }
        var out: [[String: JSONValue]] = []
        for item in list {
            guard case .object(let o) = item else { return ([], "a resolution is not an object") }
            for key in requestScoped + singletons + transients where !isID(o[key]) {
                return ([], "resolution lacks an instance id for \(key): \(item)")
            }
            out.append(o)
        }
        return (out, nil)
    }

    static func graphRequest() -> RequestSpec {
        RequestSpec(
            target: "/di/graph",
            expectation: Expectation(
                status: 200, mediaType: "application/json",
                body: .json { doc in
                    let (r, problem) = resolutions(doc)
                    if let problem { return problem }
                    for key in requestScoped where r[0][key] != r[1][key] {
                        return
                            "\(key) is request-scoped but two injections in one request got \(r[0][key]!) and \(r[1][key]!)"
                    }
                    if r[0]["logger_via_repository"] != r[0]["logger_via_audit"] {
                        return "Logger is request-scoped but the repository and the audit event got different instances"
                    }
                    for key in singletons where r[0][key] != r[1][key] {
                        return "\(key) is a singleton but two injections got \(r[0][key]!) and \(r[1][key]!)"
                    }
                    for key in transients where r[0][key] == r[1][key] {
                        return "\(key) is transient but two injections got the same instance \(r[0][key]!)"
                    }
                    guard let inUse = doc["pool_in_use"]?.intValue, inUse >= 1 else {
                        return
                            "pool_in_use should count this request's connection, got \(doc["pool_in_use"]?.description ?? "none")"
                    }
                    return nil
                }))
    }

    static func oneRequest() -> RequestSpec {
        RequestSpec(
            target: "/di/one",
            expectation: Expectation(
                status: 200, mediaType: "application/json",
                body: .json { doc in
                    isID(doc["request_context"]) ? nil : "expected {\"request_context\":<id>}, got \(doc)"
                }))
    }

    static func tenRequest() -> RequestSpec {
        RequestSpec(
            target: "/di/ten",
            expectation: Expectation(
                status: 200, mediaType: "application/json",
                body: .json { doc in
                    for (_, key) in DIServices.ten where !isID(doc[key]) {
                        return "no instance id for \(key) in \(doc)"
                    }
                    if case .object(let o) = doc, o.count != 10 {
                        return "expected exactly 10 services, got \(o.count)"
                    }
                    return nil
                }))
    }

    public static let contract = SuiteContract(
        name: "di",
        summary:
            "dependency injection: one service, ten, and a graph of twelve in singleton, request and transient scopes",
        routes: [
            RouteDescription(
                method: "GET", path: "/di/one",
                answer: "200 JSON {\"request_context\":<id>}: one request-scoped service"),
            RouteDescription(
                method: "GET", path: "/di/ten",
                answer: "200 JSON with the ids of ten services: " + DIServices.ten.map(\.key).joined(separator: ", ")),
            RouteDescription(
                method: "GET", path: "/di/graph",
                answer:
                    "200 JSON {\"resolutions\":[<ids of the whole graph>, <again>],\"pool_in_use\":<n>}: Notifier resolved twice in one request"
            ),
            RouteDescription(
                method: "GET", path: "/di/pool", answer: "200 JSON {\"size\":32,\"in_use\":<n>} (no injection)"),
        ],
        cases: [
            LoadCase(name: "di-one", summary: "GET /di/one: one request-scoped service") { _ in oneRequest() },
            LoadCase(name: "di-ten", summary: "GET /di/ten: ten services of every scope") { _ in tenRequest() },
            LoadCase(name: "di-graph", summary: "GET /di/graph: the twelve-service graph, twice") { _ in graphRequest()
            },
        ],
        checks: [
            NamedRequest("one service", oneRequest(), case: "di-one"),
            NamedRequest("ten services", tenRequest(), case: "di-ten"),
            NamedRequest("the graph, with scopes right within a request", graphRequest(), case: "di-graph"),
        ],
        scenarios: [
            Scenario("request scope is new per request, singletons last the server's life") { context in
                let client = context.client
                var docs: [[String: JSONValue]] = []
                for _ in 0..<2 {
                    let response = try client.send(graphRequest())
                    guard let doc = JSONValue.parse(response.body) else { return ["/di/graph did not answer JSON"] }
                    let (r, problem) = resolutions(doc)
                    if let problem { return [problem] }
                    docs.append(r[0])
                }
                var problems: [String] = []
                for key in requestScoped where docs[0][key] == docs[1][key] {
                    problems.append("\(key) is request-scoped but two requests got the same instance \(docs[0][key]!)")
                }
                for key in singletons where docs[0][key] != docs[1][key] {
                    problems.append("\(key) is a singleton but two requests got \(docs[0][key]!) and \(docs[1][key]!)")
                }
                let ten = try client.send(tenRequest())
                if let config = JSONValue.parse(ten.body)?["config"], config != docs[0]["config"] {
                    problems.append(
                        "Config is a singleton but /di/ten got \(config) and /di/graph \(docs[0]["config"]!)")
                }
                let ones = try (0..<2).map { _ in
                    JSONValue.parse(try client.send(oneRequest()).body)?["request_context"]
                }
                if ones[0] == nil || ones[0] == ones[1] {
                    problems.append("/di/one gave the same RequestContext to two requests")
                }
                return problems
            },
            Scenario("the pooled connection goes back when the request ends", workloads: ["di-graph"]) { context in
                let client = context.client
                for _ in 0..<5 { _ = try client.send(graphRequest()) }
                let pool = try client.send(RequestSpec(target: "/di/pool", expectation: Expectation(status: 200)))
                guard let doc = JSONValue.parse(pool.body), let inUse = doc["in_use"]?.intValue,
                    let size = doc["size"]?.intValue
                else {
                    return ["/di/pool does not answer {\"size\":<n>,\"in_use\":<n>}"]
                }
                var problems: [String] = []
                if size != Int64(DIServices.poolSize) {
                    problems.append("pool size is \(size), expected \(DIServices.poolSize)")
                }
                if inUse != 0 { problems.append("\(inUse) connections still in use after the requests ended") }
                return problems
            },
        ]
    )
}
