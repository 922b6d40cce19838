import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// Where and how an embedded server runs.
public struct ServerSettings: Sendable {
    public var host: String
    public var port: UInt16
    public var workers: Int
    /// Accept HTTP/2 with prior knowledge on the cleartext port too (stacks that speak HTTP/2).
    public var h2c: Bool
    /// Serve TLS only: HTTP/2 or HTTP/1.1 chosen by ALPN (HTTP/1.1 only on a stack without HTTP/2).
    public var tls: TLSMaterial?
    /// The run's services (the upstream, …); nil: the server starts the ones
    /// its suites need and stops them with itself.
    public var services: ServiceDirectory?
    /// Runs first on every thread the server starts (arena, CPU pinning).
    public var onThreadStart: (@Sendable () -> Void)?
    /// Serve Prometheus metrics at /metrics, counting every answer of every
    /// route (an atomic add and a histogram bucket per request).
    public var metrics: Bool
    /// Told of every answer of every route, beside the metrics (tests use it
    /// to add known work to every handler).
    public var observer: (any RouteObserving)?
    /// A request head must arrive within this many seconds (slow clients are closed).
    public var headerTimeoutSeconds: Double
    /// Connections beyond this many are closed as they come.
    public var maxConnections: Int

    public init(
        host: String = "127.0.0.1", port: UInt16 = 0, workers: Int = 1, h2c: Bool = true, tls: TLSMaterial? = nil,
        services: ServiceDirectory? = nil, metrics: Bool = false, observer: (any RouteObserving)? = nil,
        headerTimeoutSeconds: Double = 10, maxConnections: Int = 10_000, onThreadStart: (@Sendable () -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.workers = workers
        self.h2c = h2c
        self.tls = tls
        self.services = services
        self.metrics = metrics
        self.observer = observer
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.maxConnections = maxConnections
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
    /// Runs `task` once on every thread that does the server's work — its
    /// loops or workers and every pool or client thread its suites started —
    /// and waits.
    func runOnServerThreads(_ task: @escaping @Sendable () -> Void)
    func stop()
}

public struct UnsupportedProtocol: Error, CustomStringConvertible {
    public let description: String
}

/// Starts `stack` serving `suites`.
public func startServer(
    _ stack: StackName, suites: [any CatalogSuite.Type] = [BasicSuite.self],
    settings: ServerSettings
) throws -> EmbeddedServer {
    if settings.tls != nil && !stack.speaksTLS {
        throw UnsupportedProtocol(
            description: "\(stack.rawValue) serves cleartext HTTP/1.1 only, like the sync servers it stands for")
    }
    var settings = settings
    var ownServices: ServiceDirectory?
    if settings.services == nil {
        ownServices = try ServiceDirectory.start(suites.flatMap { $0.services })
        settings.services = ownServices
    }
    let context = SuiteContext(settings: settings, services: settings.services!)
    if let ownServices { context.onStop { ownServices.stop() } }
    do {
        switch stack {
        case .ccore: return try CCoreSuiteServer.start(context, suites: suites)
        case .async: return try AsyncSuiteServer.start(context, suites: suites)
        case .threaded: return try ThreadedSuiteServer.start(context, suites: suites)
        }
    } catch {
        context.stop()
        throw error
    }
}

/// Starts `stack` serving the suites named (aliases accepted).
public func startServer(_ stack: StackName, suiteNames: [String], settings: ServerSettings) throws -> EmbeddedServer {
    try startServer(stack, suites: try Catalog.resolve(suiteNames), settings: settings)
}

/// The observers every answer is told of: the metrics, then the settings' own.
func observers(_ metrics: ServerMetrics?, _ extra: (any RouteObserving)?) -> (any RouteObserving)? {
    switch (metrics, extra) {
    case (nil, nil): return nil
    case (let m?, nil): return m
    case (nil, let e?): return e
    case (let m?, let e?): return ObserverPair(first: m, second: e)
    }
}

private struct ObserverPair: RouteObserving {
    let first: any RouteObserving
    let second: any RouteObserving

    func observer(method: String, pattern: String) -> (any RouteObserver)? {
        switch (first.observer(method: method, pattern: pattern), second.observer(method: method, pattern: pattern)) {
        case (nil, nil): return nil
        case (let a?, nil): return a
        case (nil, let b?): return b
        case (let a?, let b?): return Both(a: a, b: b)
        }
    }

    struct Both: RouteObserver {
        let a: any RouteObserver
        let b: any RouteObserver
        func answered(status: Int, nanoseconds: UInt64) {
            a.answered(status: status, nanoseconds: nanoseconds)
            b.answered(status: status, nanoseconds: nanoseconds)
        }
    }
}

func readText(_ path: String) throws -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw UnsupportedProtocol(description: "cannot read \(path): \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        bytes += chunk[0..<n]
        if bytes.count > 1 << 20 {
            throw UnsupportedProtocol(description: "\(path) is larger than 1 MiB; is it a PEM file?")
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}
