/// One workload on one server, with every repetition kept.
public struct MeasurementRecord: Codable, Sendable {
    public var server: String
    public var suite: String
    public var workload: String
    public var description: String
    public var protocolName: String
    public var connections: Int
    /// 1 unless pipelining was the axis measured.
    public var pipeline: Int
    public var keepAlive: Bool
    /// Open loop rate (requests/s); nil for a closed loop.
    public var rate: Double?
    /// HTTP/2 streams in flight per connection (1 for HTTP/1.1).
    public var streams: Int = 1
    /// `c64`, `c64 m10`, `c64 ×16`, `c64 close`, `c64 R5000`.
    public var mode: String
    /// Why this server was not measured this way (a protocol its design does not speak).
    public var notApplicable: String?
    /// Why this measurement failed (schema v2): its workload failed
    /// verification, the server instance did not start, or no repetition
    /// could be measured. A failed row has no median; it is never left out.
    public var failure: String?
    public var repetitions: [RepetitionRecord]
    /// Medians over the repetitions, metric by metric.
    public var median: SummaryRecord?

    public init(
        server: String, suite: String, workload: String, description: String, protocolName: String, connections: Int,
        pipeline: Int = 1, keepAlive: Bool = true, rate: Double? = nil, mode: String? = nil
    ) {
        self.server = server
        self.suite = suite
        self.workload = workload
        self.description = description
        self.protocolName = protocolName
        self.connections = connections
        self.pipeline = pipeline
        self.keepAlive = keepAlive
        self.rate = rate
        self.mode = mode ?? "c\(connections)"
        repetitions = []
    }

    /// Computes `median` from the repetitions.
    public mutating func summarize() {
        median = repetitions.isEmpty ? nil : SummaryRecord(repetitions)
    }
}

public struct LatencyRecord: Codable, Sendable, Equatable {
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var p999: Double
    public var max: Double
    public var mean: Double

    public init(p50: Double, p90: Double, p99: Double, p999: Double, max: Double, mean: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
        self.mean = mean
    }
}

public struct ErrorRecord: Codable, Sendable, Equatable {
    public var connect: UInt64
    public var read: UInt64
    public var write: UInt64
    public var timeout: UInt64
    public var badResponse: UInt64

    public init(connect: UInt64, read: UInt64, write: UInt64, timeout: UInt64, badResponse: UInt64) {
        self.connect = connect
        self.read = read
        self.write = write
        self.timeout = timeout
        self.badResponse = badResponse
    }

    public var total: UInt64 { connect + read + write + timeout + badResponse }
}

public struct RepetitionRecord: Codable, Sendable {
    public var requests: UInt64
    public var seconds: Double
    public var rps: Double
    /// Microseconds; in open loop from each request's intended send time.
    public var latencyUs: LatencyRecord
    /// Open loop only: from the actual send (what the correction changed).
    public var uncorrectedLatencyUs: LatencyRecord?
    /// Open loop only: requests due before the end that were never sent, every
    /// connection busy with late answers; each is in `latencyUs` with its wait to the end.
    public var unsentRequests: UInt64?
    public var timeline: [TimelineRecord]?
    public var statusCounts: [String: UInt64]
    public var errors: ErrorRecord
    public var wrongAnswers: UInt64
    public var wrongAnswerExamples: [String]
    public var verifiedAnswers: UInt64
    /// Answers the server counted over the same span (nil for servers that cannot tell).
    public var serverRequests: UInt64?
    public var allocationsPerRequest: Double?
    public var bytesPerRequest: Double?
    public var serverCpuUsPerRequest: Double?
    public var loadCpuUsPerRequest: Double?
    /// Busy share of the load generator's threads (CPU time over wall time × threads).
    /// Near 1 the load generator, not the server, set the pace.
    public var loadCpuUtilization: Double?
    public var rssBytes: UInt64?
    /// Proportional set size at the same moments as `rssBytes` (schema v2):
    /// pages shared between a server's processes counted once.
    public var pssBytes: UInt64?
    /// The machine's 1, 5 and 15 minute load averages after the repetition.
    public var loadAverage: [Double]
    /// The same before it (schema v2).
    public var loadAverageBefore: [Double]?
    /// Latency (µs) at the percentiles of `PercentilePoint.spectrum`: the
    /// HdrHistogram percentile spectrum, corrected in open loop (schema v2).
    public var percentileSpectrum: [PercentilePoint]?
    /// What the suite's services saw of this repetition from their own side
    /// (schema v2): on PostgreSQL `db_queries_per_request`, `db_queries_per_s`,
    /// `db_query_us`, `db_connections_peak`, `db_pool_busy`,
    /// `db_cpu_us_per_request`, `db_memory_mib`, `db_memory_per_connection_mib`,
    /// `db_pool_wait_us_per_request`, `db_pool_leased`.
    public var serviceFigures: [String: Double]?

    public init(
        requests: UInt64, seconds: Double, rps: Double, latencyUs: LatencyRecord, statusCounts: [String: UInt64],
        errors: ErrorRecord, wrongAnswers: UInt64, wrongAnswerExamples: [String], verifiedAnswers: UInt64,
        serverRequests: UInt64?, allocationsPerRequest: Double?, bytesPerRequest: Double?,
        serverCpuUsPerRequest: Double?, loadCpuUsPerRequest: Double?, loadCpuUtilization: Double?,
        rssBytes: UInt64?, loadAverage: [Double]
    ) {
        self.requests = requests
        self.seconds = seconds
        self.rps = rps
        self.latencyUs = latencyUs
        self.statusCounts = statusCounts
        self.errors = errors
        self.wrongAnswers = wrongAnswers
        self.wrongAnswerExamples = wrongAnswerExamples
        self.verifiedAnswers = verifiedAnswers
        self.serverRequests = serverRequests
        self.allocationsPerRequest = allocationsPerRequest
        self.bytesPerRequest = bytesPerRequest
        self.serverCpuUsPerRequest = serverCpuUsPerRequest
        self.loadCpuUsPerRequest = loadCpuUsPerRequest
        self.loadCpuUtilization = loadCpuUtilization
        self.rssBytes = rssBytes
        self.loadAverage = loadAverage
    }
}

/// Medians of each metric over the repetitions, and the spread of throughput.
public struct SummaryRecord: Codable, Sendable {
    public var rps: Double
    public var rpsMin: Double
    public var rpsMax: Double
    public var latencyUs: LatencyRecord
    public var allocationsPerRequest: Double?
    public var bytesPerRequest: Double?
    public var serverCpuUsPerRequest: Double?
    /// Resident memory: an external server's processes at their peak during
    /// the load; for an embedded stack the whole catbench process (load
    /// generator included) after it.
    public var rssBytes: Double?
    /// Median proportional set size (schema v2), when every repetition has one.
    public var pssBytes: Double?
    public var errors: UInt64
    public var wrongAnswers: UInt64
    /// True when the load generator was busy at least 90% of the time in a
    /// repetition: the server may be faster than this figure shows.
    public var loadBound: Bool
    /// Medians of the services' own figures, each over the repetitions that have it (schema v2).
    public var serviceFigures: [String: Double]?

    /// The memory figure reports show: PSS where measured, else RSS.
    public var memoryBytes: Double? { pssBytes ?? rssBytes }

    public init(_ reps: [RepetitionRecord]) {
        rps = median(reps.map(\.rps))
        rpsMin = reps.map(\.rps).min() ?? 0
        rpsMax = reps.map(\.rps).max() ?? 0
        latencyUs = LatencyRecord(
            p50: median(reps.map(\.latencyUs.p50)), p90: median(reps.map(\.latencyUs.p90)),
            p99: median(reps.map(\.latencyUs.p99)), p999: median(reps.map(\.latencyUs.p999)),
            max: reps.map(\.latencyUs.max).max() ?? 0, mean: median(reps.map(\.latencyUs.mean)))
        allocationsPerRequest = optionalMedian(reps.map(\.allocationsPerRequest))
        bytesPerRequest = optionalMedian(reps.map(\.bytesPerRequest))
        serverCpuUsPerRequest = optionalMedian(reps.map(\.serverCpuUsPerRequest))
        rssBytes = optionalMedian(reps.map { rep in rep.rssBytes.map { Double($0) } })
        pssBytes = optionalMedian(reps.map { rep in rep.pssBytes.map { Double($0) } })
        errors = reps.reduce(0) { $0 + $1.errors.total }
        wrongAnswers = reps.reduce(0) { $0 + $1.wrongAnswers }
        loadBound = reps.contains { ($0.loadCpuUtilization ?? 0) >= 0.9 }
        let names = Set(reps.flatMap { $0.serviceFigures?.keys.map { $0 } ?? [] })
        serviceFigures =
            names.isEmpty
            ? nil
            : Dictionary(
                uniqueKeysWithValues: names.map { name in (name, median(reps.compactMap { $0.serviceFigures?[name] })) }
            )
    }
}

/// The middle value (mean of the two middle values for an even count).
public func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let mid = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

func optionalMedian(_ values: [Double?]) -> Double? {
    let present = values.compactMap { $0 }
    return present.count == values.count && !present.isEmpty ? median(present) : nil
}

/// One point of a percentile spectrum.
public struct PercentilePoint: Codable, Sendable, Equatable {
    public var percentile: Double
    public var latencyUs: Double

    public init(percentile: Double, latencyUs: Double) {
        self.percentile = percentile
        self.latencyUs = latencyUs
    }

    /// Where the spectrum is read: thinning towards the tail as the
    /// "1/(1−p)" axis of HdrHistogram's percentile plots spreads them evenly.
    public static let spectrum: [Double] = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999, 100]
}

public struct TimelineRecord: Codable, Sendable, Equatable {
    public var second: Int
    public var requests: UInt64
    public var errors: UInt64
    public var p50Us: Double
    public var p99Us: Double
    public var activeConnections: Int

    public init(second: Int, requests: UInt64, errors: UInt64, p50Us: Double, p99Us: Double, activeConnections: Int) {
        self.second = second
        self.requests = requests
        self.errors = errors
        self.p50Us = p50Us
        self.p99Us = p99Us
        self.activeConnections = activeConnections
    }
}
