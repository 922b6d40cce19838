import CCoreStack
import Posix
import Contract
#if canImport(Glibc)
import Glibc
#endif

/// The three embedded designs catbench compares.
public enum StackName: String, CaseIterable, Sendable, Codable {
    case ccore
    case async
    case threaded

    /// Whether the design speaks HTTP/2 (and TLS). The sync thread-per-request
    /// design speaks cleartext HTTP/1.1 only, as WSGI servers do.
    public var speaksHTTP2: Bool { self != .threaded }

    public var design: String {
        switch self {
        case .ccore: return "C core: epoll loop, parser and radix router in C; sync Swift handlers called from the loop"
        case .async: return "async-first: SwiftNIO event loops; each request a task awaiting an async handler"
        case .threaded: return "sync thread-per-request: blocking sockets, an acceptor and a worker-thread pool"
        }
    }
}

/// Where and how an embedded server runs.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: UInt16
    public var workers: Int
    /// Accept HTTP/2 with prior knowledge on the cleartext port too (stacks that speak HTTP/2).
    public var h2c: Bool
    /// Serve TLS only, with HTTP/2 or HTTP/1.1 chosen by ALPN.
    public var tls: TLSMaterial?
    /// The upstream the async suite calls; nil starts one with the server.
    public var upstream: SocketAddress?
    /// Runs first on every thread the server starts (arena, CPU pinning).
    public var onThreadStart: (@Sendable () -> Void)?
    /// Serve Prometheus metrics at /metrics, counting every answer of every
    /// route (an atomic add and a histogram bucket per request).
    public var metrics: Bool
    /// A request head must arrive within this many seconds (slow clients are closed).
    public var headerTimeoutSeconds: Double
    /// Connections beyond this many are closed as they come.
    public var maxConnections: Int

    public init(host: String = "127.0.0.1", port: UInt16 = 0, workers: Int = 1, h2c: Bool = true, tls: TLSMaterial? = nil,
                upstream: SocketAddress? = nil, metrics: Bool = false, headerTimeoutSeconds: Double = 10, maxConnections: Int = 10_000,
                onThreadStart: (@Sendable () -> Void)? = nil) {
        self.upstream = upstream
        self.metrics = metrics
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.maxConnections = maxConnections
        self.host = host
        self.port = port
        self.workers = workers
        self.h2c = h2c
        self.tls = tls
        self.onThreadStart = onThreadStart
    }
}

/// A certificate chain and key, PEM, for a TLS listener.
public struct TLSMaterial: Sendable {
    public var certificatePEM: String
    public var privateKeyPEM: String

    public init(certificatePEM: String, privateKeyPEM: String) {
        self.certificatePEM = certificatePEM
        self.privateKeyPEM = privateKeyPEM
    }

    /// A self-signed certificate for localhost, 127.0.0.1 and ::1, made now.
    public static func selfSigned() throws -> TLSMaterial {
        let made = try CCoreTLS.selfSigned()
        return TLSMaterial(certificatePEM: made.certificatePEM, privateKeyPEM: made.privateKeyPEM)
    }

    /// Reads a certificate chain and key from PEM files.
    public static func files(certificate: String, key: String) throws -> TLSMaterial {
        TLSMaterial(certificatePEM: try readText(certificate), privateKeyPEM: try readText(key))
    }
}

/// A running embedded server, whatever its stack, as the harness drives it.
public protocol EmbeddedServer: AnyObject, Sendable {
    var stack: StackName { get }
    /// True when the server was started with TLS.
    var secure: Bool { get }
    var port: UInt16 { get }
    /// Answers the server has written since it started.
    var requestsServed: UInt64 { get }
    /// The server's Prometheus metrics, when started with them.
    var metrics: ServerMetrics? { get }
    /// Runs `task` once on every thread that serves requests, and waits.
    func runOnServerThreads(_ task: @escaping @Sendable () -> Void)
    func stop()
}

public struct UnsupportedProtocol: Error, CustomStringConvertible {
    public let description: String
}

public struct UnknownSuite: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "unknown suite '\(name)'; known suites: \(Suite.all.map(\.name).joined(separator: ", "))" }
}

/// Starts `stack` serving the named suites.
public func startServer(_ stack: StackName, suites: [String] = ["basic"], settings: ServerSettings) throws -> EmbeddedServer {
    for suite in suites where Suite.named(suite) == nil { throw UnknownSuite(name: suite) }
    if settings.tls != nil && !stack.speaksHTTP2 {
        throw UnsupportedProtocol(description: "\(stack.rawValue) serves cleartext HTTP/1.1 only (no TLS, no HTTP/2), like the sync servers it stands for")
    }
    switch stack {
    case .ccore: return try CCoreSuiteServer.start(settings, suites: suites)
    case .async: return try AsyncSuiteServer.start(settings, suites: suites)
    case .threaded: return try ThreadedSuiteServer.start(settings, suites: suites)
    }
}

func readText(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw UnsupportedProtocol(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[0..<n]
        if bytes.count > 1 << 20 { throw UnsupportedProtocol(description: "\(path) is larger than 1 MiB; is it a PEM file?") }
    }
    return String(decoding: bytes, as: UTF8.self)
}
