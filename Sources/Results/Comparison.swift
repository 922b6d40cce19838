/// Two runs side by side: for each measurement both hold, the change of each
/// metric, called a regression (or an improvement) only when it is beyond
/// the threshold *and* the two runs' repetitions do not overlap — a change
/// inside the spread of the repetitions is noise, however large.
public struct Comparison: Sendable {
    public enum Verdict: String, Sendable {
        case regression, improvement, unchanged
        /// Measured in the base, not in the new run (or the new run could not measure it).
        case missing
        /// Measured in the new run only.
        case added
    }

    public struct Metric: Sendable {
        public let name: String
        public let unit: String
        public let higherIsBetter: Bool
        let value: @Sendable (SummaryRecord) -> Double?
        let perRepetition: @Sendable (RepetitionRecord) -> Double?

        public static let all: [Metric] = [
            Metric(name: "req/s", unit: "req/s", higherIsBetter: true, value: { $0.rps }, perRepetition: { $0.rps }),
            Metric(
                name: "p50", unit: "µs", higherIsBetter: false, value: { $0.latencyUs.p50 },
                perRepetition: { $0.latencyUs.p50 }),
            Metric(
                name: "p99", unit: "µs", higherIsBetter: false, value: { $0.latencyUs.p99 },
                perRepetition: { $0.latencyUs.p99 }),
            Metric(
                name: "allocs/req", unit: "", higherIsBetter: false, value: { $0.allocationsPerRequest },
                perRepetition: { $0.allocationsPerRequest }),
            Metric(
                name: "CPU µs/req", unit: "µs", higherIsBetter: false, value: { $0.serverCpuUsPerRequest },
                perRepetition: { $0.serverCpuUsPerRequest }),
        ]
    }

    public struct Row: Sendable {
        /// server · suite/workload · protocol · mode
        public let key: String
        public let metric: String
        public let unit: String
        public let base: Double?
        public let new: Double?
        /// (new − base) / base, nil when either is missing or base is 0.
        public let change: Double?
        public let baseRange: ClosedRange<Double>?
        public let newRange: ClosedRange<Double>?
        public let verdict: Verdict
    }

    public let threshold: Double
    public let rows: [Row]

    public var regressions: [Row] { rows.filter { $0.verdict == .regression } }
    public var missing: [Row] { rows.filter { $0.verdict == .missing } }
    public var improvements: [Row] { rows.filter { $0.verdict == .improvement } }

    /// `threshold` is a fraction (0.05 for 5%).
    public init(base: RunDocument, new: RunDocument, threshold: Double) {
        self.threshold = threshold
        var rows: [Row] = []
        let newByKey = Dictionary(new.measurements.map { (Self.key($0), $0) }, uniquingKeysWith: { first, _ in first })
        let baseKeys = Set(base.measurements.map(Self.key))
        for b in base.measurements where b.notApplicable == nil && b.median != nil {
            let key = Self.key(b)
            guard let n = newByKey[key], n.notApplicable == nil, let ns = n.median else {
                let reason =
                    newByKey[key]?.notApplicable.map { "n/a in the new run: \($0)" } ?? "not measured in the new run"
                rows.append(
                    Row(
                        key: key, metric: reason, unit: "", base: b.median?.rps, new: nil, change: nil,
                        baseRange: nil, newRange: nil, verdict: .missing))
                continue
            }
            for metric in Metric.all {
                guard let bv = metric.value(b.median!), let nv = metric.value(ns) else { continue }
                let bRange = Self.range(b.repetitions.compactMap(metric.perRepetition)) ?? bv...bv
                let nRange = Self.range(n.repetitions.compactMap(metric.perRepetition)) ?? nv...nv
                let change: Double? = bv != 0 ? (nv - bv) / bv : nil
                var verdict = Verdict.unchanged
                if let change, abs(change) > threshold, !bRange.overlaps(nRange) {
                    let better = metric.higherIsBetter ? change > 0 : change < 0
                    verdict = better ? .improvement : .regression
                }
                rows.append(
                    Row(
                        key: key, metric: metric.name, unit: metric.unit, base: bv, new: nv, change: change,
                        baseRange: bRange, newRange: nRange, verdict: verdict))
            }
        }
        for n in new.measurements where n.notApplicable == nil && n.median != nil && !baseKeys.contains(Self.key(n)) {
            rows.append(
                Row(
                    key: Self.key(n), metric: "req/s", unit: "req/s", base: nil, new: n.median?.rps, change: nil,
                    baseRange: nil, newRange: nil, verdict: .added))
        }
        self.rows = rows
    }

    static func key(_ m: MeasurementRecord) -> String {
        "\(m.server) · \(m.suite)/\(m.workload) · \(m.protocolName) · \(m.mode)"
    }

    static func range(_ values: [Double]) -> ClosedRange<Double>? {
        guard let low = values.min(), let high = values.max() else { return nil }
        return low...high
    }
}
