@testable import Results

/// Small result documents built in code, for the renderers, compare and check.
enum Documents {
    static func repetition(rps: Double, p50: Double = 100, allocations: Double? = nil, rss: UInt64? = nil)
        -> RepetitionRecord
    {
        var rep = RepetitionRecord(
            requests: UInt64(rps), seconds: 1, rps: rps,
            latencyUs: LatencyRecord(
                p50: p50, p90: p50 * 1.5, p99: p50 * 3, p999: p50 * 5, max: p50 * 10, mean: p50 * 1.1),
            statusCounts: ["200": UInt64(rps)],
            errors: ErrorRecord(connect: 0, read: 0, write: 0, timeout: 0, badResponse: 0),
            wrongAnswers: 0, wrongAnswerExamples: [], verifiedAnswers: UInt64(rps) / 64, serverRequests: nil,
            allocationsPerRequest: allocations, bytesPerRequest: allocations.map { $0 * 100 },
            serverCpuUsPerRequest: 1e6 / rps,
            loadCpuUsPerRequest: 5, loadCpuUtilization: 0.5, rssBytes: rss, loadAverage: [0.5, 0.4, 0.3])
        rep.loadAverageBefore = [0.4, 0.4, 0.3]
        rep.percentileSpectrum = PercentilePoint.spectrum.map {
            PercentilePoint(percentile: $0, latencyUs: p50 * (1 + $0 / 20))
        }
        rep.timeline = [
            TimelineRecord(
                second: 0, requests: UInt64(rps), errors: 0, p50Us: p50, p99Us: p50 * 3, activeConnections: 64)
        ]
        return rep
    }

    static func measurement(
        server: String, suite: String = "basic", workload: String, rps: [Double], p50: Double = 100,
        allocations: Double? = nil, rss: UInt64? = nil
    ) -> MeasurementRecord {
        var m = MeasurementRecord(
            server: server, suite: suite, workload: workload, description: "GET /\(workload)",
            protocolName: "http/1.1", connections: 64)
        m.repetitions = rps.map { repetition(rps: $0, p50: p50, allocations: allocations, rss: rss) }
        m.summarize()
        return m
    }

    static func server(_ name: String, status: ServerRecord.Status = .measured, version: String? = nil) -> ServerRecord
    {
        var config = ["workers": "1"]
        config["version"] = version
        var s = ServerRecord(
            name: name, kind: version == nil ? "embedded" : "bundled", design: "\(name) design", configuration: config,
            status: status)
        s.verification = [
            VerificationRecord(
                suite: "basic", checksRun: 10, passed: status != .failedVerification, failures: [], warnings: [])
        ]
        return s
    }

    static func document(servers: [ServerRecord], measurements: [MeasurementRecord], suites: [String] = ["basic"])
        -> RunDocument
    {
        var d = RunDocument(
            catbench: ToolInfo(version: "0.test", commit: "0123456789abcdef", libraries: ["nghttp2": "1.52.0"]),
            startedAt: "2026-11-29T09:00:00Z",
            machine: MachineRecord(
                cpuModel: "Test CPU", logicalCpus: 2, kernel: "6.1.0", memoryBytes: 24 << 30, hostname: "test",
                loadAverageBefore: [0.1, 0.1, 0.1], loadAverageAfter: [0.9, 0.5, 0.2]),
            settings: SettingsRecord(
                suites: suites, servers: servers.map(\.name), durationSeconds: 1, warmupSeconds: 0.5,
                repetitions: 3, connections: 64, loadThreads: 1, workers: 1, protocolName: "http/1.1",
                requestTimeoutSeconds: 2, requestVariants: 1024, verifyEvery: 64, seed: 1,
                serverCpus: [0], loadCpus: [1]))
        d.servers = servers
        d.measurements = measurements
        // What the suites declare for reports: the middleware suite's baseline.
        d.suites = suites.map { name in
            name == "middleware"
                ? SuiteRecord(
                    name: name, summary: "middleware layers", baselineWorkload: "mw0",
                    baselineColumn: "Middleware Overhead")
                : SuiteRecord(name: name, summary: "\(name) suite")
        }
        d.finishedAt = "2026-11-29T09:01:00Z"
        return d
    }
}
