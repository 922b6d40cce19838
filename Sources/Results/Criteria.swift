#if canImport(Glibc)
    import Glibc
#endif

/// Success criteria, as a file states them (criteria/plan.yaml): each names
/// a suite, a metric, the servers it judges and the server they are judged
/// against, and the bound the ratio server/baseline must meet.
public struct CriteriaFile: Decodable, Sendable {
    public var criteria: [Criterion]

    public init(criteria: [Criterion]) { self.criteria = criteria }
}

public struct Criterion: Decodable, Sendable {
    public enum Metric: String, Decodable, Sendable, CaseIterable {
        case throughput
        case latencyMean = "latency_mean"
        case latencyP50 = "latency_p50"
        case latencyP99 = "latency_p99"
        case memory
        case cpuPerRequest = "cpu_per_request"

        func value(_ s: SummaryRecord) -> Double? {
            switch self {
            case .throughput: return s.rps
            case .latencyMean: return s.latencyUs.mean
            case .latencyP50: return s.latencyUs.p50
            case .latencyP99: return s.latencyUs.p99
            case .memory: return s.memoryBytes
            case .cpuPerRequest: return s.serverCpuUsPerRequest
            }
        }
    }

    public var name: String
    public var suite: String
    /// Workloads compared; all the suite's workloads both servers were measured on when absent.
    public var workloads: [String]?
    public var metric: Metric
    public var servers: [String]
    public var baseline: String
    /// Bounds on the ratio server/baseline (geometric mean over the workloads).
    public var atLeast: Double?
    public var atMost: Double?
    public var note: String?

    enum CodingKeys: String, CodingKey {
        case name, suite, workloads, metric, servers, server, baseline, note
        case atLeast = "at_least"
        case atMost = "at_most"
    }

    public init(
        name: String, suite: String, workloads: [String]? = nil, metric: Metric, servers: [String], baseline: String,
        atLeast: Double? = nil, atMost: Double? = nil, note: String? = nil
    ) {
        self.name = name
        self.suite = suite
        self.workloads = workloads
        self.metric = metric
        self.servers = servers
        self.baseline = baseline
        self.atLeast = atLeast
        self.atMost = atMost
        self.note = note
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        suite = try c.decode(String.self, forKey: .suite)
        workloads = try c.decodeIfPresent([String].self, forKey: .workloads)
        metric = try c.decode(Metric.self, forKey: .metric)
        if let list = try c.decodeIfPresent([String].self, forKey: .servers) {
            servers = list
        } else {
            servers = [try c.decode(String.self, forKey: .server)]
        }
        baseline = try c.decode(String.self, forKey: .baseline)
        atLeast = try c.decodeIfPresent(Double.self, forKey: .atLeast)
        atMost = try c.decodeIfPresent(Double.self, forKey: .atMost)
        note = try c.decodeIfPresent(String.self, forKey: .note)
        guard atLeast != nil || atMost != nil else {
            throw DecodingError.dataCorruptedError(
                forKey: .atLeast, in: c, debugDescription: "criterion '\(name)' needs at_least or at_most")
        }
        guard !servers.isEmpty else {
            throw DecodingError.dataCorruptedError(
                forKey: .servers, in: c, debugDescription: "criterion '\(name)' names no server")
        }
    }
}

/// The verdict of one criterion for one server.
public struct CriterionResult: Sendable {
    public enum Verdict: String, Sendable {
        case pass = "PASS"
        case fail = "FAIL"
        case notApplicable = "n/a"
    }

    public let criterion: String
    public let server: String
    public let baseline: String
    public let verdict: Verdict
    public let ratio: Double?
    /// The workloads the ratio was taken over.
    public let workloads: [String]
    public let detail: String
}

public enum CriteriaCheck {
    /// Judges every criterion for every server it names against one result.
    public static func evaluate(_ file: CriteriaFile, on document: RunDocument) -> [CriterionResult] {
        file.criteria.flatMap { criterion in criterion.servers.map { evaluate(criterion, server: $0, on: document) } }
    }

    static func evaluate(_ c: Criterion, server: String, on d: RunDocument) -> CriterionResult {
        func result(_ verdict: CriterionResult.Verdict, ratio: Double? = nil, workloads: [String] = [], detail: String)
            -> CriterionResult
        {
            CriterionResult(
                criterion: c.name, server: server, baseline: c.baseline, verdict: verdict, ratio: ratio,
                workloads: workloads, detail: detail)
        }
        let status = Dictionary(d.servers.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard let record = status[server] else {
            return result(.notApplicable, detail: "\(server) is not in this result")
        }
        if (record.status != .measured && record.status != .failedVerification)
            || record.verification.contains(where: { $0.suite == c.suite && !$0.passed })
        {
            return result(
                .fail,
                detail:
                    "\(server) was not measured on \(c.suite): \(record.status.rawValue.replacingUnderscores())\(record.error.map { " — \($0)" } ?? "")"
            )
        }
        guard let base = status[c.baseline] else {
            return result(.notApplicable, detail: "\(c.baseline) is not in this result")
        }
        if base.status != .measured && base.status != .failedVerification {
            return result(
                .notApplicable,
                detail: "the baseline \(c.baseline) was not measured: \(base.status.rawValue.replacingUnderscores())")
        }
        // A figure beside errors or wrong answers is no figure: such rows fail the server (n/a for the baseline).
        func troubled(_ name: String) -> [String] {
            d.measurements.filter { m in
                m.server == name && m.suite == c.suite && m.notApplicable == nil
                    && (c.workloads?.contains(m.workload) ?? true)
                    && (m.failure != nil || (m.median.map { $0.errors > 0 || $0.wrongAnswers > 0 } ?? false))
            }.map { m in
                let why =
                    m.failure.map { "failed: \($0)" }
                    ?? "\(m.median!.errors) errors, \(m.median!.wrongAnswers) wrong answers"
                return "\(m.workload) \(m.protocolName) \(m.mode) (\(why))"
            }
        }
        let mineTroubled = troubled(server)
        if !mineTroubled.isEmpty {
            return result(
                .fail,
                detail: "\(server) had rows with errors, wrong answers or failures on \(c.suite): "
                    + mineTroubled.prefix(3).joined(separator: "; ") + (mineTroubled.count > 3 ? "; …" : ""))
        }
        let baseTroubled = troubled(c.baseline)
        if !baseTroubled.isEmpty {
            return result(
                .notApplicable,
                detail: "the baseline \(c.baseline) had rows with errors, wrong answers or failures on "
                    + "\(c.suite): " + baseTroubled.prefix(3).joined(separator: "; "))
        }
        // Headline measurements of both, paired by workload, protocol and mode.
        func headline(_ name: String) -> [String: MeasurementRecord] {
            var byKey: [String: MeasurementRecord] = [:]
            for m in d.measurements
            where m.server == name && m.suite == c.suite && m.notApplicable == nil && m.median != nil
                && m.keepAlive && m.pipeline == 1 && m.rate == nil && (c.workloads?.contains(m.workload) ?? true)
            {
                byKey["\(m.workload) \(m.protocolName) \(m.mode)"] = m
            }
            return byKey
        }
        let mine = headline(server)
        let theirs = headline(c.baseline)
        var ratios: [Double] = []
        var workloads: [String] = []
        for key in mine.keys.sorted() {
            guard let a = mine[key], let b = theirs[key], let va = c.metric.value(a.median!),
                let vb = c.metric.value(b.median!),
                va > 0, vb > 0
            else { continue }
            ratios.append(va / vb)
            if !workloads.contains(a.workload) { workloads.append(a.workload) }
        }
        guard !ratios.isEmpty else {
            let reason =
                d.measurements.contains(where: { $0.suite == c.suite })
                ? "no \(c.metric.rawValue) measured for both \(server) and \(c.baseline) on \(c.suite)"
                : "no \(c.suite) measurements in this result"
            return result(.notApplicable, detail: reason)
        }
        let ratio = geometricMean(ratios)
        var pass = true
        var bounds: [String] = []
        if let low = c.atLeast {
            pass = pass && ratio >= low; bounds.append("≥ " + TableRenderer.format(low, decimals: 2))
        }
        if let high = c.atMost {
            pass = pass && ratio <= high; bounds.append("≤ " + TableRenderer.format(high, decimals: 2))
        }
        let detail =
            "\(c.metric.rawValue) \(server)/\(c.baseline) = \(TableRenderer.format(ratio, decimals: 2)) (needs \(bounds.joined(separator: " and "))), "
            + "geometric mean over \(ratios.count) measurement\(ratios.count == 1 ? "" : "s"): \(workloads.joined(separator: ", "))"
        return result(pass ? .pass : .fail, ratio: ratio, workloads: workloads, detail: detail)
    }

    static func geometricMean(_ values: [Double]) -> Double {
        var logSum = 0.0
        for v in values { logSum += log(v) }
        return exp(logSum / Double(values.count))
    }

    public static func render(_ results: [CriterionResult]) -> String {
        var out = ""
        for r in results {
            out += r.verdict.rawValue.padding(4) + "  \(r.criterion) — \(r.server): \(r.detail)\n"
        }
        let counts = [CriterionResult.Verdict.pass, .fail, .notApplicable].map { v in
            "\(results.filter { $0.verdict == v }.count) \(v.rawValue)"
        }
        out += counts.joined(separator: ", ") + "\n"
        return out
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
