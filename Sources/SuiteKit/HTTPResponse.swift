/// A whole HTTP/1.1 response as the verifier sees it.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Bytes that followed the answer on the connection unasked (a body
    /// after HEAD, 304 or 204; a second answer): looked for when a bodiless
    /// answer arrives and, with `Expectation.watchForStrayBytes`, within a
    /// short wait. The client drops the connection then: its framing is lost.
    public var strayBytes = 0

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], strayBytes: Int = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.strayBytes = strayBytes
    }

    /// The first value of a header, compared case-insensitively by name.
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// The media type of Content-Type without parameters, lowercased.
    public var mediaType: String? {
        header("Content-Type").map {
            String($0.split(separator: ";", maxSplits: 1).first ?? "").trimmingCharacters(in: " \t").lowercased()
        }
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        return String(drop { chars.contains($0) }.reversed().drop { chars.contains($0) }.reversed())
    }
}
