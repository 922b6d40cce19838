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
    /// Runs first on every thread the server starts (acceptor and workers).
    public var onThreadStart: (@Sendable () -> Void)?

    public init(host: String = "127.0.0.1", port: UInt16 = 0, workers: Int = 1, maxConnections: Int = 10_000,
                requestTimeoutSeconds: Double = 10, keepAliveTimeoutSeconds: Double = 60,
                maxHeadBytes: Int = 8192, maxHeaders: Int = 64, maxBodyBytes: Int = 1 << 20,
                serverName: String = "threaded", onThreadStart: (@Sendable () -> Void)? = nil) {
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
        self.onThreadStart = onThreadStart
    }
}
