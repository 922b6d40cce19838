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
    /// From the first connection attempt to the last answer.
    public var seconds: Double
    public var latency: Histogram<UInt64>
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

    public var requestsPerSecond: Double { seconds > 0 ? Double(requests) / seconds : 0 }

    /// A latency percentile in microseconds.
    public func latencyMicros(_ percentile: Double) -> Double {
        latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
    }

    public var maxLatencyMicros: Double { latency.totalCount == 0 ? 0 : Double(latency.max) / 1000 }
    public var meanLatencyMicros: Double { latency.totalCount == 0 ? 0 : latency.mean / 1000 }

    static func makeHistogram() -> Histogram<UInt64> {
        // Nanoseconds from 1 ns to 60 s at three significant digits: sub-microsecond
        // resolution where loopback latencies live, and a fixed size (about 220 KB).
        Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
    }
}
