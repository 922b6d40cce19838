import Atomics
import Posix
import Prometheus
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// catbench's own live figures during a run, for a dashboard watching a long
/// run, in Prometheus' text format at `/metrics` on 127.0.0.1. The harness
/// serves them itself — one small blocking loop on a thread of its own, a
/// scrape at a time — so none of the stacks under test does the harness's work.
public final class RunMetricsServer: @unchecked Sendable {
    public let port: UInt16
    private let listener: Int32
    private let running = ManagedAtomic<Bool>(true)
    private var thread: PosixThread?

    /// Starts serving; throws (a port in use, say) before the run begins.
    public init(progress: RunProgress, host: String = "127.0.0.1", port: UInt16) throws {
        let exporter = RunMetricsExporter(progress: progress)
        listener = try Socket.listen(on: try SocketAddress(host: host, port: port), backlog: 16)
        self.port = Socket.localPort(of: listener)
        let fd = listener
        let running = self.running
        thread = try PosixThread(name: "catbench-metrics") {
            while running.load(ordering: .relaxed) {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                guard poll(&poller, 1, 100) > 0 else { continue }
                let client = accept(fd, nil, nil)
                guard client >= 0 else { continue }
                Self.answer(client, exporter: exporter)
                close(client)
            }
        }
    }

    /// Reads one request head (at most 8 KiB, 2 s) and answers it.
    private static func answer(_ fd: Int32, exporter: RunMetricsExporter) {
        Socket.setTimeouts(fd, seconds: 2)
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return }
            head += chunk[0..<n]
            if endsHead(head) { break }
        }
        let line = String(decoding: head.prefix { $0 != 13 }, as: UTF8.self).split(separator: " ")
        let found =
            line.count >= 2 && (line[0] == "GET" || line[0] == "HEAD")
            && line[1].split(separator: "?").first == "/metrics"
        let body = found ? exporter.scrape() : Array("not found\n".utf8)
        var response =
            "HTTP/1.1 \(found ? "200 OK" : "404 Not Found")\r\nContent-Type: "
            + (found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain") + "\r\n"
        response += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(response.utf8) + (line.first == "HEAD" ? [] : body)
        _ = bytes.withUnsafeBytes { Socket.sendAll(fd, $0) }
    }

    /// True once the bytes hold the empty line that ends a request head.
    private static func endsHead(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for i in 0...(bytes.count - 4)
        where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return true
        }
        return false
    }

    public func stop() {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
        close(listener)
    }
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

    static var stepDescriptor: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "step", unitName: "info",
            helpText: "1 for what is being measured now")
    }
    static var rps: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "last_repetition",
            unitName: "requests_per_second", helpText: "Throughput of each measurement's latest repetition")
    }
    static var latency: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "last_repetition_latency",
            unitName: "seconds", helpText: "Latency percentiles of each measurement's latest repetition")
    }
    static var repetitionErrors: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "catbench", subsystem: "run", metricName: "last_repetition_errors",
            unitName: "total", helpText: "Errors of each measurement's latest repetition")
    }

    init(progress: RunProgress) {
        self.progress = progress
        answers = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "catbench", subsystem: "run", metricName: "answers", unitName: "total",
                helpText: "Answers the load generator received, warm-ups included"))
        errors = registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "catbench", subsystem: "run", metricName: "errors", unitName: "total",
                helpText: "Connect, read, write, timeout and bad-response errors of the load generator"))
        elapsed = registry.makeGauge(
            descriptor: MetricNameDescriptor(
                namespace: "catbench", subsystem: "run", metricName: "elapsed", unitName: "seconds",
                helpText: "Time since the run started"))
        remaining = registry.makeGauge(
            descriptor: MetricNameDescriptor(
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
            registry.makeGauge(descriptor: Self.latency, labels: figure.labels + [("quantile", "0.5")]).set(
                figure.p50Us / 1e6)
            registry.makeGauge(descriptor: Self.latency, labels: figure.labels + [("quantile", "0.99")]).set(
                figure.p99Us / 1e6)
            registry.makeGauge(descriptor: Self.repetitionErrors, labels: figure.labels).set(Double(figure.errors))
        }
        return registry.emitToBuffer()
    }
}
