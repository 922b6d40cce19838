import Atomics
import Posix

/// What a load run does. Every run is bounded: by `duration`, by `maxRequests`,
/// or both, and every request by `timeout`.
public struct LoadOptions: Sendable {
    public var address: SocketAddress
    /// Request variants, sent in turn; randomized variants keep a server from
    /// answering everything from one cached response.
    public var requests: [LoadRequest]
    public var connections: Int
    public var threads: Int
    /// Seconds of load; nil means until `maxRequests` answers (then it must be set).
    public var duration: Double?
    /// Exactly this many requests are sent over all connections, then the run
    /// waits for their answers.
    public var maxRequests: Int?
    /// Seconds an answer may take before the request counts as a timeout.
    public var timeout: Double
    /// Check one answer in this many fully (status, headers, body); 0 never.
    public var verifyEvery: Int
    /// Runs first on every load thread (arena, CPU pinning).
    public var onThreadStart: (@Sendable () -> Void)?
    /// Set from outside (Ctrl-C) to end the run early; the result is still returned.
    public var stop: ManagedAtomic<Bool>?

    public init(address: SocketAddress, requests: [LoadRequest], connections: Int = 64, threads: Int = 1,
                duration: Double? = 10, maxRequests: Int? = nil, timeout: Double = 2, verifyEvery: Int = 0,
                onThreadStart: (@Sendable () -> Void)? = nil, stop: ManagedAtomic<Bool>? = nil) {
        self.address = address
        self.requests = requests
        self.connections = connections
        self.threads = threads
        self.duration = duration
        self.maxRequests = maxRequests
        self.timeout = timeout
        self.verifyEvery = verifyEvery
        self.onThreadStart = onThreadStart
        self.stop = stop
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    func validate() throws {
        guard !requests.isEmpty else { throw Invalid(description: "no requests to send") }
        guard connections >= 1 else { throw Invalid(description: "connections must be at least 1") }
        guard threads >= 1 else { throw Invalid(description: "threads must be at least 1") }
        guard threads <= connections else {
            throw Invalid(description: "threads (\(threads)) must not exceed connections (\(connections)): each thread needs a connection")
        }
        guard duration != nil || maxRequests != nil else { throw Invalid(description: "a run needs a duration or a request count") }
        if let duration { guard duration > 0 && duration <= 86_400 else { throw Invalid(description: "duration must be within 0…86400 s") } }
        if let maxRequests { guard maxRequests >= 1 else { throw Invalid(description: "request count must be at least 1") } }
        guard timeout > 0 else { throw Invalid(description: "timeout must be positive") }
    }
}
