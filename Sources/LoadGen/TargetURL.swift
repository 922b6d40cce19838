/// An `http://` or `https://host:port/path?query` target.
public struct TargetURL: Sendable {
    public let host: String
    public let port: UInt16
    public let pathAndQuery: String
    public let secure: Bool

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        var rest: Substring
        if text.hasPrefix("http://") {
            rest = text.dropFirst(7)
            secure = false
        } else if text.hasPrefix("https://") {
            rest = text.dropFirst(8)
            secure = true
        } else {
            throw Invalid(description: "'\(text)' is not an http:// or https:// URL")
        }
        let defaultPort: UInt16 = secure ? 443 : 80
        let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<slash]
        rest = rest[slash...]
        pathAndQuery = rest.isEmpty ? "/" : (rest.hasPrefix("?") ? "/" + rest : String(rest))
        guard !authority.isEmpty else { throw Invalid(description: "'\(text)' has no host") }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw Invalid(description: "unclosed '[' in '\(text)'")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = try Self.port(after.hasPrefix(":") ? after.dropFirst() : nil, default: defaultPort, in: text)
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            port = try Self.port(authority[authority.index(after: colon)...], default: defaultPort, in: text)
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !pathAndQuery.contains(" ") else {
            throw Invalid(description: "the path of '\(text)' contains a space; percent-encode it")
        }
    }

    /// The Host header value.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? h : "\(h):\(port)"
    }

    private static func port(_ text: Substring?, default defaultPort: UInt16, in url: String) throws -> UInt16 {
        guard let text else { return defaultPort }
        guard let value = UInt16(text), value > 0 else {
            throw Invalid(description: "invalid port '\(text)' in '\(url)'")
        }
        return value
    }
}
