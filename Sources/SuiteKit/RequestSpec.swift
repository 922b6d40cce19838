/// One request of a suite, with the answer it must get.
public struct RequestSpec: Sendable {
    public var method: String
    /// Origin-form request target: path and query, already percent-encoded.
    public var target: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var expectation: Expectation

    public init(
        method: String = "GET", target: String, headers: [(name: String, value: String)] = [],
        body: [UInt8] = [], expectation: Expectation
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.expectation = expectation
    }

    /// The request as HTTP/1.1 bytes, with Host and, when there is a body, Content-Length.
    public func encoded(host: String) -> [UInt8] {
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" || method == "PATCH" {
            text += "Content-Length: \(body.count)\r\n"
        }
        text += "\r\n"
        return Array(text.utf8) + body
    }
}
