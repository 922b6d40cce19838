/// How a ccore server listens, how many loops serve, and its limits.
public struct CCoreConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; read it from `CCoreServer.port`.
    public var port: UInt16
    /// Event-loop threads, one SO_REUSEPORT listener each.
    public var workers: Int
    public var maxHeaderBytes: Int
    public var maxHeaders: Int
    public var maxBodyBytes: Int
    public var maxConnectionsPerWorker: Int
    public var headerTimeoutMilliseconds: Int
    public var keepAliveTimeoutMilliseconds: Int
    public var serverName: String
    /// Accept HTTP/2 with prior knowledge (h2c) on a cleartext port, beside HTTP/1.1.
    public var h2c: Bool
    /// Serve TLS only (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate chain and key.
    public var tls: CCoreTLS?
    /// Runs first on every loop thread.
    public var onThreadStart: (@Sendable () -> Void)?

    public init(
        host: String = "127.0.0.1", port: UInt16 = 0, workers: Int = 1,
        maxHeaderBytes: Int = 8192, maxHeaders: Int = 64, maxBodyBytes: Int = 1 << 20,
        maxConnectionsPerWorker: Int = 10_000, headerTimeoutMilliseconds: Int = 10_000,
        keepAliveTimeoutMilliseconds: Int = 60_000, serverName: String = "ccore",
        h2c: Bool = false, tls: CCoreTLS? = nil, onThreadStart: (@Sendable () -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.workers = workers
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaders = maxHeaders
        self.maxBodyBytes = maxBodyBytes
        self.maxConnectionsPerWorker = maxConnectionsPerWorker
        self.headerTimeoutMilliseconds = headerTimeoutMilliseconds
        self.keepAliveTimeoutMilliseconds = keepAliveTimeoutMilliseconds
        self.serverName = serverName
        self.h2c = h2c
        self.tls = tls
        self.onThreadStart = onThreadStart
    }
}
