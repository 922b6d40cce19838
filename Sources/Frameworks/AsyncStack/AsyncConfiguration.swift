/// How an async server listens and how many event loops serve.
public struct AsyncConfiguration: Sendable {
    public var host: String
    /// 0 picks a free port; read it from `AsyncServer.port`.
    public var port: Int
    /// Event-loop threads; each connection and its request tasks stay on one.
    public var workers: Int
    public var maxBodyBytes: Int
    /// An HTTP/1.1 request head must arrive within this many seconds of its first byte.
    public var headerTimeoutSeconds: Double
    /// Connections beyond this are closed as they are accepted.
    public var maxConnections: Int
    public var serverName: String
    /// Accept HTTP/2 with prior knowledge (h2c) on a cleartext port, beside HTTP/1.1.
    public var h2c: Bool
    /// Serve TLS only (HTTP/2 or HTTP/1.1 by ALPN) with this PEM certificate and key.
    public var tls: (certificatePEM: String, privateKeyPEM: String)?
    /// Runs first on every event-loop thread.
    public var onThreadStart: (@Sendable () -> Void)?

    public init(
        host: String = "127.0.0.1", port: Int = 0, workers: Int = 1, maxBodyBytes: Int = 1 << 20,
        headerTimeoutSeconds: Double = 10, maxConnections: Int = 10_000, serverName: String = "async",
        h2c: Bool = false, tls: (certificatePEM: String, privateKeyPEM: String)? = nil,
        onThreadStart: (@Sendable () -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.workers = workers
        self.maxBodyBytes = maxBodyBytes
        self.headerTimeoutSeconds = headerTimeoutSeconds
        self.maxConnections = maxConnections
        self.serverName = serverName
        self.h2c = h2c
        self.tls = tls
        self.onThreadStart = onThreadStart
    }
}
