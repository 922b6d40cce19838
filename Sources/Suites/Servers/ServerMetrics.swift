import Prometheus
import WireFormat

/// Prometheus metrics of one embedded server: per route, answers by status
/// class and a latency histogram, served at `/metrics` in Prometheus' text
/// format (swift-prometheus). `/metrics` itself is not observed.
public final class ServerMetrics: RouteObserving {
    public static let path = "/metrics"
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// Latency buckets from 50 µs to 2.5 s: the stacks answer in microseconds, peers and slow paths in milliseconds.
    static let buckets: [Duration] = [
        50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
        1_000_000, 2_500_000,
    ].map { .microseconds($0) }

    public let registry = PrometheusCollectorRegistry()
    let stack: String

    public init(stack: String) {
        self.stack = stack
    }

    public func observer(method: String, pattern: String) -> (any RouteObserver)? {
        guard pattern != Self.path else { return nil }
        return RouteMetrics(registry: registry, labels: [("stack", stack), ("method", method), ("route", pattern)])
    }

    /// The exposition: what a scrape of `/metrics` answers.
    public func exposition() -> [UInt8] { registry.emitToBuffer() }
}

/// One route's counters, made at registration; recording is an atomic add and a histogram bucket.
final class RouteMetrics: RouteObserver {
    /// Answers by status class: 1xx … 5xx.
    private let answers: [Counter]
    private let latency: DurationHistogram

    static var requests: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "http", metricName: "requests", unitName: "total",
            helpText: "Answers of a route, by status class")
    }
    static var duration: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "http", metricName: "request_duration", unitName: "seconds",
            helpText: "Time from the start of a request to its answer")
    }

    init(registry: PrometheusCollectorRegistry, labels: [(String, String)]) {
        answers = (1...5).map { klass in
            registry.makeCounter(descriptor: RouteMetrics.requests, labels: labels + [("status", "\(klass)xx")])
        }
        latency = registry.makeDurationHistogram(
            descriptor: RouteMetrics.duration, labels: labels, buckets: ServerMetrics.buckets)
    }

    func answered(status: Int, nanoseconds: UInt64) {
        answers[min(max(status / 100, 1), 5) - 1].increment()
        latency.recordNanoseconds(Int64(clamping: nanoseconds))
    }
}
