import Histogram

/// Failures by kind; none of them is an answer.
public struct ErrorCounts: Sendable, Codable, Equatable {
    public var connect: UInt64 = 0
    public var read: UInt64 = 0
    public var write: UInt64 = 0
    public var timeout: UInt64 = 0
    public var badResponse: UInt64 = 0

    public init() {}

    public var total: UInt64 { connect + read + write + timeout + badResponse }

    mutating func add(_ other: ErrorCounts) {
        connect += other.connect
        read += other.read
        write += other.write
        timeout += other.timeout
        badResponse += other.badResponse
    }
}

/// What a load run measured.
public struct LoadResult: Sendable {
    /// Complete answers received, whatever their status.
    public var requests: UInt64
    /// Requests written (answers still outstanding at the end are the difference).
    public var sent: UInt64
    /// Open loop: requests that were due before the end of the run but never
    /// sent, every connection busy with late answers (or connecting again).
    /// Each is in `latency` with its wait until the end of the run. 0 in closed loop.
    public var unsent: UInt64
    /// From the first connection attempt to the last answer.
    public var seconds: Double
    /// Latency of every answer, ns. In open loop, from the request's intended
    /// send time (corrected for coordinated omission), and also the wait of
    /// every `unsent` request, from its intended time to the end of the run
    /// (so `latency.totalCount` is `requests + unsent`); in closed loop, from its send.
    public var latency: Histogram<UInt64>
    /// Open loop only: latency from the actual send, which hides stalls
    /// (kept to show what the correction changed).
    public var uncorrectedLatency: Histogram<UInt64>?
    /// Requests, errors and latency second by second.
    public var timeline: [TimelineSecond]
    /// Answers by status code.
    public var statusCounts: [Int: UInt64]
    public var errors: ErrorCounts
    /// Answers with an unexpected status, or that failed a sampled check.
    public var wrongAnswers: UInt64
    /// Up to five descriptions of wrong answers.
    public var wrongAnswerExamples: [String]
    /// Answers checked fully.
    public var verified: UInt64
    public var bytesRead: UInt64
    public var connectionsOpened: UInt64
    /// CPU time (user + system) of the load threads.
    public var cpuNanos: UInt64
    /// True when the run was ended early from outside.
    public var interrupted: Bool
    /// Distinct reasons TLS handshakes failed (counted as connect errors).
    public var tlsFailures: [String]
    /// TLS connections by the protocol ALPN chose.
    public var negotiated: [String: UInt64]
    /// Why the run ended before its time: no connection could be made.
    public var abortReason: String?

    public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    /// A latency percentile in microseconds.
    public func latencyMicros(_ percentile: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
    }

    public var maxLatencyMicros: Double { latency.totalCount == 0 ? 0 : Double(latency.max) / 1000 }
    public var meanLatencyMicros: Double { latency.totalCount == 0 ? 0 : latency.mean / 1000 }

    /// A smaller histogram for one second of the timeline (µs resolution, two digits).
    static func makeIntervalHistogram() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1000, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .two)
    }

    public func uncorrectedMicros(_ percentile: Double) -> Double? {
        guard let h = uncorrectedLatency, h.totalCount > 0 else { return uncorrectedLatency == nil ? nil : 0 }
        return Double(h.valueAtPercentile(percentile)) / 1000
    }

    static func makeHistogram() -> Histogram<UInt64> {
        // Nanoseconds from 1 ns to 60 s at three significant digits: sub-microsecond
        // resolution where loopback latencies live, and a fixed size (about 220 KB).
        Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }
}
