/// An `http://host:port/path?query` target. `https://` arrives with TLS support.
public struct TargetURL: Sendable {
    public let host: String
    public let port: UInt16
    public let pathAndQuery: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        var rest: Substring
        if text.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else if text.hasPrefix("https://") {
            throw Invalid(description: "https:// is not supported by this version of catbench (TLS is planned); use http://")
        } else {
            throw Invalid(description: "'\(text)' is not an http:// URL")
        }
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        rest = rest[slash...]
        pathAndQuery = rest.isEmpty ? "/" : (rest.hasPrefix("?") ? "/" + rest : String(rest))
        guard !authority.isEmpty else { throw Invalid(description: "'\(text)' has no host") }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Invalid(description: "unclosed '[' in '\(text)'") }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = try Self.port(after.hasPrefix(":") ? after.dropFirst() : nil, in: text)
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = try Self.port(authority[authority.index(after: colon)...], in: text)
        } else {
            host = String(authority)
            port = 80
        }
        guard !pathAndQuery.contains(" ") else { throw Invalid(description: "the path of '\(text)' contains a space; percent-encode it") }
    }

    /// The Host header value.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? h : "\(h):\(port)"
    }

    private static func port(_ text: Substring?, in url: String) throws -> UInt16 {
        guard let text else { return 80 }
        guard let value = UInt16(text), value > 0 else { throw Invalid(description: "invalid port '\(text)' in '\(url)'") }
        return value
    }
}
