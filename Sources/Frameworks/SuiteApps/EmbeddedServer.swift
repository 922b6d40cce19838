/// The three embedded designs catbench compares.
public enum StackName: String, CaseIterable, Sendable, Codable {
    case ccore
    case async
    case threaded

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
    /// Runs first on every thread the server starts (arena, CPU pinning).
    public var onThreadStart: (@Sendable () -> Void)?

    public init(host: String = "127.0.0.1", port: UInt16 = 0, workers: Int = 1, onThreadStart: (@Sendable () -> Void)? = nil) {
        self.host = host
        self.port = port
        self.workers = workers
        self.onThreadStart = onThreadStart
    }
}

/// A running embedded server, whatever its stack, as the harness drives it.
public protocol EmbeddedServer: AnyObject, Sendable {
    var stack: StackName { get }
    var port: UInt16 { get }
    /// Answers the server has written since it started.
    var requestsServed: UInt64 { get }
    /// Runs `task` once on every thread that serves requests, and waits.
    func runOnServerThreads(_ task: @escaping @Sendable () -> Void)
    func stop()
}

public struct UnknownSuite: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "unknown suite '\(name)'; known suites: basic" }
}

/// Starts `stack` serving the named suites.
public func startServer(_ stack: StackName, suites: [String] = ["basic"], settings: ServerSettings) throws -> EmbeddedServer {
    for suite in suites where suite != "basic" { throw UnknownSuite(name: suite) }
    switch stack {
    case .ccore: return try CCoreBasicApp.start(settings)
    case .async: return try AsyncBasicApp.start(settings)
    case .threaded: return try ThreadedBasicApp.start(settings)
    }
}
