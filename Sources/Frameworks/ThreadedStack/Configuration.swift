/// How a threaded server listens and how many threads serve.
public struct Configuration: Sendable {
    public var host: String
    /// 0 picks a free port; read it from `ThreadedServer.port`.
    public var port: UInt16
    /// Worker threads that run requests; each blocks on its connection while serving it.
    public var workers: Int
    public var maxConnections: Int
    /// A request head (and body) must arrive within this many seconds once started.
    public var requestTimeoutSeconds: Double
    /// Idle keep-alive connections are closed after this many seconds.
    public var keepAliveTimeoutSeconds: Double
    public var maxHeadBytes: Int
    public var maxHeaders: Int
    public var maxBodyBytes: Int
    public var serverName: String
    /// Serve TLS only, HTTP/1.1 inside it (ALPN `http/1.1`; a client offering only h2
    /// is refused), with this certificate chain and key; nil serves cleartext.
    /// The handshake is bounded by `requestTimeoutSeconds`.
    public var tls: TLSIdentity?
    /// Runs first on every thread the server starts (acceptor and workers).
    public var onThreadStart: (@Sendable () -> Void)?

    public init(
        host: String = "127.0.0.1", port: UInt16 = 0, workers: Int = 1, maxConnections: Int = 10_000,
        requestTimeoutSeconds: Double = 10, keepAliveTimeoutSeconds: Double = 60,
        maxHeadBytes: Int = 8192, maxHeaders: Int = 64, maxBodyBytes: Int = 1 << 20,
        serverName: String = "threaded", tls: TLSIdentity? = nil,
        onThreadStart: (@Sendable () -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.workers = workers
        self.maxConnections = maxConnections
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.keepAliveTimeoutSeconds = keepAliveTimeoutSeconds
        self.maxHeadBytes = maxHeadBytes
        self.maxHeaders = maxHeaders
        self.maxBodyBytes = maxBodyBytes
        self.serverName = serverName
        self.tls = tls
        self.onThreadStart = onThreadStart
    }

    /// How many bytes one TLS read asks OpenSSL for. A record holds up to 16 KiB, so at
    /// the default a read takes a whole record; a test makes it small, so that OpenSSL
    /// keeps decrypted bytes back as it would from a record larger than the read.
    var tlsReadBytes = 16384
}
