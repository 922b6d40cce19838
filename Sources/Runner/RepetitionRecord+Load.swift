import LoadGen
import Accounting
import Results

extension RepetitionRecord {
    /// A repetition from the load generator's result and the server's counters read around it.
    static func make(
        _ result: LoadResult, before: BenchmarkRunner.Counters, after: BenchmarkRunner.Counters,
        peak: (rss: UInt64?, pss: UInt64?)?, threads: Int, openLoop: Bool,
        loadAverageBefore: [Double]
    ) -> RepetitionRecord {
        // Answers the server counted, or (for an external server) those the load generator received.
        let served = after.served.flatMap { a in before.served.map { a - $0 } } ?? result.requests
        let perRequest = served > 0 ? 1 / Double(served) : 0
        var allocations: Double?
        var bytes: Double?
        if let allocBefore = before.allocations, let allocAfter = after.allocations, served > 0 {
            let delta = allocAfter - allocBefore
            allocations = Double(delta.allocations) * perRequest
            bytes = Double(delta.bytes) * perRequest
        }
        var cpuPerRequest: Double?
        if let cpuBefore = before.cpuNanos, let cpuAfter = after.cpuNanos, cpuAfter >= cpuBefore, served > 0 {
            cpuPerRequest = Double(cpuAfter - cpuBefore) / 1000 * perRequest
        }
        let e = result.errors
        var uncorrected: LatencyRecord?
        if let h = result.uncorrectedLatency, h.totalCount > 0 {
            func p(_ q: Double) -> Double { Double(h.valueAtPercentile(q)) / 1000 }
            uncorrected = LatencyRecord(
                p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: Double(h.max) / 1000, mean: h.mean / 1000)
        }
        let rss = max(peak?.rss ?? 0, after.rssBytes ?? 0)
        var record = RepetitionRecord(
            requests: result.requests, seconds: result.seconds, rps: result.requestsPerSecond,
            latencyUs: LatencyRecord(
                p50: result.latencyMicros(50), p90: result.latencyMicros(90), p99: result.latencyMicros(99),
                p999: result.latencyMicros(99.9), max: result.maxLatencyMicros, mean: result.meanLatencyMicros),
            statusCounts: Dictionary(uniqueKeysWithValues: result.statusCounts.map { (String($0.key), $0.value) }),
            errors: ErrorRecord(
                connect: e.connect, read: e.read, write: e.write, timeout: e.timeout, badResponse: e.badResponse),
            wrongAnswers: result.wrongAnswers, wrongAnswerExamples: result.wrongAnswerExamples,
            verifiedAnswers: result.verified, serverRequests: after.served == nil ? nil : served,
            allocationsPerRequest: allocations, bytesPerRequest: bytes,
            serverCpuUsPerRequest: cpuPerRequest,
            loadCpuUsPerRequest: result.requests > 0 ? Double(result.cpuNanos) / 1000 / Double(result.requests) : nil,
            loadCpuUtilization: result.seconds > 0
                ? Double(result.cpuNanos) / 1e9 / (result.seconds * Double(threads)) : nil,
            rssBytes: rss > 0 ? rss : nil,
            loadAverage: ProcessStats.loadAverage())
        record.uncorrectedLatencyUs = uncorrected
        if openLoop { record.unsentRequests = result.unsent }
        record.loadAverageBefore = loadAverageBefore
        if let pss = after.pssBytes { record.pssBytes = max(pss, peak?.pss ?? 0) }
        if result.latency.totalCount > 0 {
            record.percentileSpectrum = PercentilePoint.spectrum.map {
                PercentilePoint(
                    percentile: $0, latencyUs: $0 == 100 ? result.maxLatencyMicros : result.latencyMicros($0))
            }
        }
        record.timeline = result.timeline.map {
            TimelineRecord(
                second: $0.second, requests: $0.requests, errors: $0.errors, p50Us: $0.p50Micros,
                p99Us: $0.p99Micros, activeConnections: $0.activeConnections)
        }
        return record
    }
}
