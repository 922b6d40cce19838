import Posix
import Prometheus
import Synchronization
import ThreadedStack

/// catbench's own live figures during a run, for a dashboard watching a long
/// run: served at `/metrics` on 127.0.0.1 by the threaded stack (one worker,
/// off the measured CPUs' hot paths), in Prometheus' text format.
public final class RunMetricsServer: @unchecked Sendable {
    private let server: ThreadedServer
    public var port: UInt16 { server.port }

    /// Starts serving; throws (a port in use, say) before the run begins.
    public init(progress: RunProgress, host: String = "127.0.0.1", port: UInt16) throws {
        let exporter = RunMetricsExporter(progress: progress)
        let app = ThreadedApp()
        try app.route("/metrics") { _ in
            Response(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: exporter.scrape())
        }
        server = try ThreadedServer(app: app, configuration: Configuration(host: host, port: port, workers: 1))
    }

    public func stop() { server.stop() }
}

/// Turns the run's progress into Prometheus metrics at each scrape.
final class RunMetricsExporter: Sendable {
    private let progress: RunProgress
    private let registry = PrometheusCollectorRegistry()
    private let answers: Counter
    private let errors: Counter
    private let elapsed: Gauge
    private let remaining: Gauge
    /// What the counters have been given so far, and the step last shown.
    private let seen = Mutex<(answers: UInt64, errors: UInt64, step: Gauge?)>((0, 0, nil))

    static var stepDescriptor: MetricNameDescriptor { MetricNameDescriptor(namespace: "catbench", subsystem: "run", metricName: "step", unitName: "info",
                                                     helpText: "1 for what is being measured now") }
    static var rps: MetricNameDescriptor { MetricNameDescriptor(namespace: "catbench", subsystem: "run", metricName: "last_repetition",
                                          unitName: "requests_per_second", helpText: "Throughput of each measurement's latest repetition") }
    static var latency: MetricNameDescriptor { MetricNameDescriptor(namespace: "catbench", subsystem: "run", metricName: "last_repetition_latency",
                                              unitName: "seconds", helpText: "Latency percentiles of each measurement's latest repetition") }
    static var repetitionErrors: MetricNameDescriptor { MetricNameDescriptor(namespace: "catbench", subsystem: "run", metricName: "last_repetition_errors",
                                                       unitName: "total", helpText: "Errors of each measurement's latest repetition") }

    init(progress: RunProgress) {
        self.progress = progress
        answers = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "answers", unitName: "total",
            helpText: "Answers the load generator received, warm-ups included"))
        errors = registry.makeCounter(descriptor: MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "errors", unitName: "total",
            helpText: "Connect, read, write, timeout and bad-response errors of the load generator"))
        elapsed = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "elapsed", unitName: "seconds", helpText: "Time since the run started"))
        remaining = registry.makeGauge(descriptor: MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "load_remaining", unitName: "seconds",
            helpText: "Load time the plan still holds (start-up and verification not counted)"))
    }

    func scrape() -> [UInt8] {
        let snapshot = progress.snapshot()
        let answerCount = progress.live.answers.load(ordering: .relaxed)
        let errorCount = progress.live.errors.load(ordering: .relaxed)
        seen.withLock { seen in
            answers.increment(by: Int64(answerCount &- seen.answers))
            errors.increment(by: Int64(errorCount &- seen.errors))
            seen.answers = answerCount
            seen.errors = errorCount
            // Only the current step is 1; the one before leaves the exposition.
            if let old = seen.step { registry.unregisterGauge(old) }
            let step = registry.makeGauge(descriptor: Self.stepDescriptor, labels: [("step", snapshot.step)])
            step.set(1.0)
            seen.step = step
        }
        elapsed.set(snapshot.elapsedSeconds)
        remaining.set(snapshot.remainingSeconds)
        for figure in snapshot.latest {
            registry.makeGauge(descriptor: Self.rps, labels: figure.labels).set(figure.rps)
            registry.makeGauge(descriptor: Self.latency, labels: figure.labels + [("quantile", "0.5")]).set(figure.p50Us / 1e6)
            registry.makeGauge(descriptor: Self.latency, labels: figure.labels + [("quantile", "0.99")]).set(figure.p99Us / 1e6)
            registry.makeGauge(descriptor: Self.repetitionErrors, labels: figure.labels).set(Double(figure.errors))
        }
        return registry.emitToBuffer()
    }
}
