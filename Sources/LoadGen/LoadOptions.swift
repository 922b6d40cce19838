import Atomics
import Posix

/// What a load run does. Every run is bounded: by `duration`, by `maxRequests`,
/// or both, and every request by `timeout`.
public struct LoadOptions: Sendable {
    public var address: SocketAddress
    /// Request variants, sent in turn; randomized variants keep a server from
    /// answering everything from one cached response.
    public var requests: [LoadRequest]
    /// The authority every request names (`Host` in HTTP/1.1, `:authority` in
    /// HTTP/2) unless it carries a Host field of its own; nil: the address, `127.0.0.1:8080`.
    public var host: String?
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
    /// Requests in flight on one HTTP/1.1 connection (pipelining); 1 is none.
    public var pipeline: Int
    /// false: every request on a new connection, closed after its answer
    /// (latency then counts from the connection attempt).
    public var keepAlive: Bool
    /// Open loop: requests per second over all connections at a constant
    /// arrival rate, latency counted from each request's intended send time
    /// (coordinated-omission correction, as wrk2). nil: closed loop.
    public var rate: Double?
    /// How many connections are active over time.
    public var profile: LoadProfile
    /// TLS (https targets); nil for cleartext.
    public var tls: TLSOptions?
    /// Speak HTTP/2: with prior knowledge on cleartext (h2c), or when ALPN
    /// chooses h2 over TLS.
    public var http2: Bool
    /// HTTP/2 streams in flight per connection (h2load's -m).
    public var maxStreams: Int
    /// Runs first on every load thread (arena, CPU pinning).
    public var onThreadStart: (@Sendable () -> Void)?
    /// Set from outside (Ctrl-C) to end the run early; the result is still returned.
    public var stop: ManagedAtomic<Bool>?
    /// Live figures for a progress display: each thread adds its answers and
    /// errors here every 10 ms (never per request).
    public var progress: LiveCounters?

    public init(
        address: SocketAddress, requests: [LoadRequest], host: String? = nil, connections: Int = 64, threads: Int = 1,
        duration: Double? = 10, maxRequests: Int? = nil, timeout: Double = 2, verifyEvery: Int = 0,
        pipeline: Int = 1, keepAlive: Bool = true, rate: Double? = nil, profile: LoadProfile = .constant,
        tls: TLSOptions? = nil, http2: Bool = false, maxStreams: Int = 1,
        onThreadStart: (@Sendable () -> Void)? = nil, stop: ManagedAtomic<Bool>? = nil
    ) {
        self.address = address
        self.requests = requests
        self.host = host
        self.connections = connections
        self.threads = threads
        self.duration = duration
        self.maxRequests = maxRequests
        self.timeout = timeout
        self.verifyEvery = verifyEvery
        self.pipeline = pipeline
        self.keepAlive = keepAlive
        self.rate = rate
        self.profile = profile
        self.tls = tls
        self.http2 = http2
        self.maxStreams = maxStreams
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
            throw Invalid(
                description:
                    "threads (\(threads)) must not exceed connections (\(connections)): each thread needs a connection")
        }
        guard duration != nil || maxRequests != nil else {
            throw Invalid(description: "a run needs a duration or a request count")
        }
        if let duration {
            guard duration > 0 && duration <= 86_400 else {
                throw Invalid(description: "duration must be within 0…86400 s")
            }
        }
        if let maxRequests {
            guard maxRequests >= 1 else { throw Invalid(description: "request count must be at least 1") }
        }
        guard timeout > 0 else { throw Invalid(description: "timeout must be positive") }
        guard (1...LoadWorker.maxPipeline).contains(pipeline) else {
            throw Invalid(description: "pipeline depth must be within 1…\(LoadWorker.maxPipeline)")
        }
        guard keepAlive || pipeline == 1 else { throw Invalid(description: "pipelining needs keep-alive connections") }
        guard (1...1000).contains(maxStreams) else {
            throw Invalid(description: "streams per connection must be within 1…1000")
        }
        guard !http2 || pipeline == 1 else {
            throw Invalid(description: "pipelining is HTTP/1.1's; HTTP/2 uses concurrent streams (-m)")
        }
        if let rate {
            guard rate > 0, rate.isFinite, rate <= 100_000_000 else {
                throw Invalid(description: "rate must be within 0…100,000,000 requests/s")
            }
        }
        switch profile {
        case .constant: break
        case .ramp(let from, let seconds):
            guard from >= 1, seconds > 0 else {
                throw Invalid(description: "a ramp needs at least 1 starting user and a positive time")
            }
        case .spike(let base, let at, let length):
            guard base >= 1, at >= 0, length > 0 else {
                throw Invalid(description: "a spike needs at least 1 base user, a start and a positive length")
            }
        }
    }
}

/// Answers and errors so far, readable while a load runs.
public final class LiveCounters: Sendable {
    public let answers = ManagedAtomic<UInt64>(0)
    public let errors = ManagedAtomic<UInt64>(0)

    public init() {}
}
