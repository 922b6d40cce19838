/// One pre-encoded request the load generator sends, with what it expects back.
public struct LoadRequest: Sendable {
    /// The whole request on the wire (request line, headers, body).
    public var bytes: [UInt8]
    /// The status a correct answer has; another status counts as a wrong answer. 0 accepts any.
    public var expectedStatus: Int
    /// True for HEAD requests, whose answers carry no body whatever their headers say.
    public var isHead: Bool
    /// A full check of a sampled answer; returns what is wrong, or nil.
    public var check: (@Sendable (SampledResponse) -> String?)?

    public init(bytes: [UInt8], expectedStatus: Int = 0, isHead: Bool = false, check: (@Sendable (SampledResponse) -> String?)? = nil) {
        self.bytes = bytes
        self.expectedStatus = expectedStatus
        self.isHead = isHead
        self.check = check
    }

    /// A GET request for `target` with a Host header.
    public static func get(_ target: String, host: String, headers: [(String, String)] = [], expectedStatus: Int = 0) -> LoadRequest {
        var text = "GET \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "\r\n"
        return LoadRequest(bytes: Array(text.utf8), expectedStatus: expectedStatus)
    }
}

/// An answer kept whole for checking (one in `verifyEvery`).
public struct SampledResponse: Sendable {
    public var status: Int
    /// Status line and header lines, without the final empty line.
    public var head: [UInt8]
    public var body: [UInt8]

    /// Header fields as (name, value) pairs, in order.
    public var headers: [(name: String, value: String)] {
        let text = String(decoding: head, as: UTF8.self)
        return text.split(separator: "\r\n").dropFirst().compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let value = line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" }
            return (String(line[..<colon]), String(value))
        }
    }
}
