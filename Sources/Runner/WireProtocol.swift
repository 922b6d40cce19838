import LoadGen

/// How the load talks to a server: the protocol axis of a run.
public enum WireProtocol: String, CaseIterable, Sendable, Codable {
    /// HTTP/1.1 over cleartext TCP: the headline.
    case http1 = "h1"
    /// HTTP/2 with prior knowledge over cleartext TCP.
    case h2c
    /// HTTP/1.1 over TLS (ALPN http/1.1).
    case https1 = "h1-tls"
    /// HTTP/2 over TLS (ALPN h2).
    case h2 = "h2-tls"

    public var secure: Bool { self == .https1 || self == .h2 }
    public var isHTTP2: Bool { self == .h2c || self == .h2 }

    /// The name in results: `http/1.1`, `h2c`, `http/1.1+tls`, `h2`.
    public var resultName: String {
        switch self {
        case .http1: return "http/1.1"
        case .h2c: return "h2c"
        case .https1: return "http/1.1+tls"
        case .h2: return "h2"
        }
    }

    /// Fills in the protocol part of load options.
    func apply(to options: inout LoadOptions, streams: Int) {
        switch self {
        case .http1:
            break
        case .h2c:
            options.http2 = true
            options.maxStreams = streams
        case .https1:
            // Our own freshly made certificate: nothing to verify it against.
            options.tls = TLSOptions(serverName: "localhost", insecure: true, alpn: ["http/1.1"])
        case .h2:
            options.tls = TLSOptions(serverName: "localhost", insecure: true, alpn: ["h2"])
            options.maxStreams = streams
        }
    }
}
