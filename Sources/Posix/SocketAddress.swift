#if canImport(Glibc)
    import Glibc
#endif

/// A numeric IPv4 or IPv6 socket address. Names other than `localhost` are
/// refused on purpose: a static binary has no NSS modules, and a benchmark
/// should say exactly which address it measures.
public struct SocketAddress: Sendable, CustomStringConvertible {
    public enum Family: Sendable { case v4, v6 }

    public let host: String
    public let port: UInt16
    public let family: Family
    private let storage: sockaddr_storage

    public struct InvalidHost: Error, CustomStringConvertible {
        public let host: String
        public var description: String {
            "'\(host)' is not a numeric IPv4 or IPv6 address (use e.g. 127.0.0.1 or ::1; 'localhost' means 127.0.0.1)"
        }
    }

    public init(host: String, port: UInt16) throws {
        let numeric = host == "localhost" ? "127.0.0.1" : host
        let bare = numeric.hasPrefix("[") && numeric.hasSuffix("]") ? String(numeric.dropFirst().dropLast()) : numeric
        var storage = sockaddr_storage()
        if bare.contains(":") {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, bare, &addr.sin6_addr) == 1 else { throw InvalidHost(host: host) }
            withUnsafeBytes(of: addr) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            family = .v6
        } else {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            guard inet_pton(AF_INET, bare, &addr.sin_addr) == 1 else { throw InvalidHost(host: host) }
            withUnsafeBytes(of: addr) { src in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: src) }
            }
            family = .v4
        }
        self.host = bare
        self.port = port
        self.storage = storage
    }

    public var length: socklen_t {
        socklen_t(family == .v4 ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size)
    }

    public var domain: Int32 { family == .v4 ? AF_INET : AF_INET6 }

    /// Calls `body` with the address as a `sockaddr` pointer.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: storage) { raw in
            try body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// `host:port`, with brackets around IPv6 hosts, as in URLs.
    public var description: String {
        family == .v6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
