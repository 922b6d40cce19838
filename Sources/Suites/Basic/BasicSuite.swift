import SuiteKit

/// The basic suite: hello-world answers, a typed path parameter and a query.
/// The functions here are the suite's business logic, shared by every embedded
/// stack, and the rules the verifier checks any server against.
public enum BasicSuite: SuiteDefinition {
    public static let plaintextBody = "Hello, World!"
    public static let jsonMessage = "Hello, World!"
    public static let defaultLimit = 10
    public static let limitRange = 1...100

    /// The deterministic name of user `id`.
    public static func userName(id: Int64) -> String { "User \(id)" }

    /// `limit` from the query: absent or not an integer gives the default; an
    /// integer is clamped to 1…100.
    public static func limit(from raw: String?) -> Int {
        guard let raw, let value = Int(raw) else { return defaultLimit }
        return min(max(value, limitRange.lowerBound), limitRange.upperBound)
    }

    /// The title of the `index`-th (1-based) search result for `query`.
    public static func resultTitle(query: String, index: Int) -> String { "\(query) #\(index)" }

    public static let contract = SuiteContract(
        name: "basic",
        summary: "hello-world answers, a typed path parameter and a query string",
        routes: [
            RouteDescription(method: "GET", path: "/plaintext", answer: "200 text/plain, body `Hello, World!`"),
            RouteDescription(
                method: "GET", path: "/json", answer: "200 application/json `{\"message\":\"Hello, World!\"}`"),
            RouteDescription(
                method: "GET", path: "/users/{id:int}",
                answer: "200 application/json `{\"id\":<id>,\"name\":\"User <id>\"}`; a non-integer id gets 404 or 400"),
            RouteDescription(
                method: "GET", path: "/search?q=<text>&limit=<n>",
                answer:
                    "200 application/json `{\"query\":<q>,\"limit\":<n>,\"results\":[{\"id\":i,\"title\":\"<q> #i\"}…]}` with n items; n defaults to 10 and is clamped to 1…100"
            ),
        ],
        cases: [
            LoadCase(name: "plaintext", summary: "GET /plaintext") { _ in plaintext() },
            LoadCase(name: "json", summary: "GET /json") { _ in json() },
            LoadCase(name: "user", summary: "GET /users/{random id}") { random in
                user(id: Int64.random(in: 1...1_000_000, using: &random))
            },
            LoadCase(name: "search", summary: "GET /search?q={random}&limit={1…20}") { random in
                let word = queryWords[Int.random(in: 0..<queryWords.count, using: &random)]
                let query = "\(word) \(Int.random(in: 1...9999, using: &random))"
                return search(query: query, limit: Int.random(in: 1...20, using: &random))
            },
        ],
        checks: [
            NamedRequest("plaintext", plaintext(), case: "plaintext"),
            NamedRequest("json", json(), case: "json"),
            NamedRequest("user 42", user(id: 42), case: "user"),
            NamedRequest("user 0", user(id: 0), case: "user"),
            NamedRequest("user non-integer id", notAUser("abc"), case: "user"),
            NamedRequest("user id with trailing text", notAUser("12abc"), case: "user"),
            NamedRequest("user id beyond int64", notAUser("99999999999999999999"), case: "user"),
            NamedRequest("search default limit", search(query: "hello", limit: nil), case: "search"),
            NamedRequest(
                "search with '+' for space",
                RequestSpec(
                    target: "/search?q=a+b&limit=5", expectation: searchExpectation(query: "a b", limit: 5)),
                case: "search"),
            NamedRequest("search percent-encoded", search(query: "café naïve", limit: 3), case: "search"),
            NamedRequest("search limit above range", search(query: "x", limit: 1000), case: "search"),
            NamedRequest("search limit zero", search(query: "x", limit: 0), case: "search"),
            NamedRequest("search negative limit", search(query: "x", limit: -5), case: "search"),
            NamedRequest(
                "search without q",
                RequestSpec(
                    target: "/search", expectation: searchExpectation(query: "", limit: defaultLimit)), case: "search"),
            NamedRequest(
                "unknown route",
                RequestSpec(
                    target: "/no/such/route", expectation: Expectation(status: 404, recommendedHeaders: []))),
        ]
    )

    static let queryWords = ["swift", "catzilla", "radix router", "epoll", "café", "zero copy", "naïve", "hello world"]

    /// The request whose correct answer says a server is up: every server
    /// implementing the contract serves the basic suite.
    public static var readinessRequest: RequestSpec { plaintext() }

    static func plaintext() -> RequestSpec {
        RequestSpec(
            target: "/plaintext",
            expectation: Expectation(status: 200, mediaType: "text/plain", body: .text(plaintextBody)))
    }

    static func json() -> RequestSpec {
        RequestSpec(
            target: "/json",
            expectation: Expectation(
                status: 200, mediaType: "application/json",
                body: .json { doc in
                    guard case .object(let o) = doc, o.count == 1, o["message"]?.stringValue == jsonMessage else {
                        return "expected {\"message\":\"\(jsonMessage)\"}, got \(doc)"
                    }
                    return nil
                }))
    }

    static func user(id: Int64) -> RequestSpec {
        RequestSpec(
            target: "/users/\(id)",
            expectation: Expectation(
                status: 200, mediaType: "application/json",
                body: .json { doc in
                    guard doc["id"]?.intValue == id else { return "expected id \(id), got \(doc)" }
                    guard doc["name"]?.stringValue == userName(id: id) else {
                        return "expected name \"\(userName(id: id))\", got \(doc)"
                    }
                    return nil
                }))
    }

    static func notAUser(_ id: String) -> RequestSpec {
        RequestSpec(target: "/users/\(id)", expectation: Expectation(statuses: [400, 404], recommendedHeaders: []))
    }

    static func search(query: String, limit: Int?) -> RequestSpec {
        var target = "/search?q=\(QueryString.encode(query))"
        if let limit { target += "&limit=\(limit)" }
        return RequestSpec(
            target: target,
            expectation: searchExpectation(query: query, limit: BasicSuite.limit(from: limit.map(String.init))))
    }

    static func searchExpectation(query: String, limit: Int) -> Expectation {
        Expectation(
            status: 200, mediaType: "application/json",
            body: .json { doc in
                guard doc["query"]?.stringValue == query else {
                    return "expected query \"\(query)\", got \(doc["query"]?.description ?? "none")"
                }
                guard doc["limit"]?.intValue == Int64(limit) else {
                    return "expected limit \(limit), got \(doc["limit"]?.description ?? "none")"
                }
                guard let results = doc["results"]?.arrayValue else { return "no results array" }
                guard results.count == limit else { return "expected \(limit) results, got \(results.count)" }
                for (i, item) in results.enumerated() {
                    guard item["id"]?.intValue == Int64(i + 1),
                        item["title"]?.stringValue == resultTitle(query: query, index: i + 1)
                    else {
                        return
                            "result \(i + 1) should be {\"id\":\(i + 1),\"title\":\"\(resultTitle(query: query, index: i + 1))\"}, got \(item)"
                    }
                }
                return nil
            })
    }
}
