/// One request the load generator sends, as structure, with what it expects
/// back. The generator encodes it once per protocol when a run starts
/// (`H1RequestTable`, `H2RequestTable`): callers never write wire text.
public struct LoadRequest: Sendable {
    /// A token: `GET`, `POST`, …
    public var method: String
    /// Origin-form request target: path and query, already percent-encoded.
    public var target: String
    /// Header fields in order. A `Host` field names the authority (else the
    /// run's `LoadOptions.host`); `Content-Length` and `Connection: close` are
    /// the encoder's to add, and one given is replaced.
    public var headers: [(name: String, value: String)]
    public var body: RequestBody
    /// The status a correct answer has; another status counts as a wrong answer. 0 accepts any.
    public var expectedStatus: Int
    /// A full check of a sampled answer; returns what is wrong, or nil.
    public var check: (@Sendable (SampledResponse) -> String?)?

    public init(
        method: String = "GET", target: String, headers: [(name: String, value: String)] = [],
        body: RequestBody = RequestBody(), expectedStatus: Int = 0,
        check: (@Sendable (SampledResponse) -> String?)? = nil
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.expectedStatus = expectedStatus
        self.check = check
    }

    /// HEAD answers carry no body whatever their headers say.
    public var isHead: Bool { method == "HEAD" }

    /// A GET request for `target`.
    public static func get(
        _ target: String, headers: [(name: String, value: String)] = [],
        expectedStatus: Int = 0
    ) -> LoadRequest {
        LoadRequest(target: target, headers: headers, expectedStatus: expectedStatus)
    }
}
