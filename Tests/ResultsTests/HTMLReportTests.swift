import XCTest
@testable import Results

final class HTMLReportTests: XCTestCase {
    // MARK: a small run built in code

    static func repetition(rps: Double, p50: Double, allocations: Double?, seconds: Int = 3) -> RepetitionRecord {
        var rep = RepetitionRecord(
            requests: UInt64(rps) * UInt64(seconds), seconds: Double(seconds), rps: rps,
            latencyUs: LatencyRecord(
                p50: p50, p90: p50 * 2, p99: p50 * 4, p999: p50 * 8, max: p50 * 20, mean: p50 * 1.2),
            statusCounts: ["200": UInt64(rps)],
            errors: ErrorRecord(connect: 0, read: 0, write: 0, timeout: 0, badResponse: 0),
            wrongAnswers: 0, wrongAnswerExamples: [], verifiedAnswers: 100, serverRequests: nil,
            allocationsPerRequest: allocations, bytesPerRequest: allocations.map { $0 * 64 },
            serverCpuUsPerRequest: 1e6 / max(rps, 1),
            loadCpuUsPerRequest: 4, loadCpuUtilization: 0.5, rssBytes: 40 << 20, loadAverage: [0.5, 0.4, 0.3])
        rep.percentileSpectrum = PercentilePoint.spectrum.map {
            PercentilePoint(percentile: $0, latencyUs: p50 * (1 + $0 / 10))
        }
        rep.timeline = (0..<seconds).map {
            TimelineRecord(
                second: $0, requests: UInt64(rps) + UInt64($0 * 100), errors: 0, p50Us: p50, p99Us: p50 * 4,
                activeConnections: 64)
        }
        return rep
    }

    static func measurement(
        _ server: String, _ workload: String, connections: Int = 64, rps: Double, p50: Double,
        allocations: Double?
    ) -> MeasurementRecord {
        var m = MeasurementRecord(
            server: server, suite: "basic", workload: workload, description: "GET /\(workload)",
            protocolName: "http/1.1", connections: connections)
        m.repetitions = [0.98, 1.0, 1.03].map { repetition(rps: rps * $0, p50: p50 * $0, allocations: allocations) }
        m.summarize()
        return m
    }

    static func emptyDocument() -> RunDocument {
        RunDocument(
            catbench: ToolInfo(version: "0.9.0", commit: "0123abcd", libraries: [:]),
            startedAt: "2025-03-01T10:00:00Z",
            machine: MachineRecord(
                cpuModel: "Test CPU @ 3.0GHz", logicalCpus: 2, kernel: "6.8.0", memoryBytes: 8 << 30,
                hostname: "bench", loadAverageBefore: [0.1, 0.2, 0.3], loadAverageAfter: [1.5, 0.9, 0.4]),
            settings: SettingsRecord(
                suites: ["basic"], servers: ["ccore", "flask-peer"], durationSeconds: 3, warmupSeconds: 1,
                repetitions: 3, connections: 64, loadThreads: 1, workers: 1, protocolName: "http/1.1",
                requestTimeoutSeconds: 5, requestVariants: 16, verifyEvery: 100, seed: 42,
                serverCpus: nil, loadCpus: nil))
    }

    static func sampleDocument() -> RunDocument {
        var d = emptyDocument()
        d.finishedAt = "2025-03-01T10:05:00Z"
        var ccore = ServerRecord(
            name: "ccore", kind: "embedded", design: "epoll loop in C", configuration: ["version": "1.0"],
            status: .measured)
        ccore.startupSeconds = 0.01
        ccore.rssIdleBytes = 8 << 20
        ccore.verification = [
            VerificationRecord(
                suite: "basic", checksRun: 12, passed: true, failures: [],
                warnings: [FindingRecord(check: "date", message: "no Date header on 404")])
        ]
        var flask = ServerRecord(
            name: "flask-peer", kind: "peer", design: "WSGI \"prefork\" & threads",
            configuration: ["version": "3.0.3"], status: .failedDuringRun)
        flask.error = "stopped answering after json: <connection reset>"
        flask.logPath = "/tmp/flask-peer.log"
        flask.logTail = "Traceback (most recent call last):\n<script>alert('x')</script>"
        d.servers = [ccore, flask]

        var notApplicable = MeasurementRecord(
            server: "flask-peer", suite: "basic", workload: "json", description: "GET /json",
            protocolName: "h2c", connections: 64)
        notApplicable.notApplicable = "flask-peer speaks HTTP/1.1 only"
        d.measurements = [
            measurement("ccore", "plaintext", rps: 150_000, p50: 120, allocations: 0),
            measurement("ccore", "json", rps: 120_000, p50: 150, allocations: 2),
            measurement("flask-peer", "plaintext", rps: 9_000, p50: 2_500, allocations: nil),
            measurement("flask-peer", "json", rps: 7_500, p50: 3_100, allocations: nil),
            notApplicable,
            measurement("ccore", "plaintext", connections: 16, rps: 110_000, p50: 90, allocations: 0),
            measurement("flask-peer", "plaintext", connections: 16, rps: 8_000, p50: 900, allocations: nil),
        ]
        d.figures = [
            FigureRecord(
                server: "ccore", suite: "basic", protocolName: "http/1.1", name: "json cost",
                value: 1.8, unit: "µs", description: "json over plaintext, per request")
        ]
        return d
    }

    // MARK: checks every page must pass

    /// The values of the attributes that hold coordinates: where a broken number would show.
    func coordinateAttributes(_ html: String) -> [String] {
        let names: Set = ["x", "y", "cx", "cy", "r", "d", "width", "height", "viewBox", "transform", "textLength"]
        let chunks = html.split(separator: "=\"", omittingEmptySubsequences: false)
        var values: [String] = []
        for i in chunks.indices.dropFirst() {
            let name = chunks[i - 1].split(separator: " ").last.map(String.init) ?? ""
            if names.contains(name) { values.append(String(chunks[i].prefix { $0 != "\"" })) }
        }
        return values
    }

    func assertWellFormedNumbers(_ html: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertFalse(html.contains("NaN"), file: file, line: line)
        XCTAssertFalse(html.lowercased().contains("=\"nan"), file: file, line: line)
        XCTAssertFalse(html.lowercased().contains("=\"inf"), file: file, line: line)
        XCTAssertFalse(html.lowercased().contains("=\"-inf"), file: file, line: line)
        let broken = coordinateAttributes(html).filter {
            $0.lowercased().contains("nan") || $0.lowercased().contains("inf")
        }
        XCTAssertEqual(broken, [], file: file, line: line)
    }

    func assertSelfContained(_ html: String, file: StaticString = #filePath, line: UInt = #line) {
        let withoutNamespace = html.replacing("http://www.w3.org/2000/svg", with: "")
        XCTAssertFalse(withoutNamespace.contains("http://"), file: file, line: line)
        XCTAssertFalse(html.contains("https://"), file: file, line: line)
        XCTAssertFalse(html.contains("<script"), file: file, line: line)
        XCTAssertFalse(html.contains("url("), file: file, line: line)
    }

    // MARK: tests

    func testPageHasEveryChartAndSection() {
        let html = HTMLReport.render(Self.sampleDocument())
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        XCTAssertTrue(html.contains("<svg"))
        for title in [
            "basic — throughput, http/1.1, 64 connections",
            "basic — throughput, http/1.1, 16 connections",
            "basic — plaintext latency by percentile, http/1.1, 64 connections",
            "basic — plaintext throughput over time",
            "basic — plaintext throughput by connections, http/1.1",
            "basic — allocations per request",
            "basic — bytes allocated per request",
        ] {
            XCTAssertTrue(html.contains(title), title)
        }
        // The h2c combination holds only an n/a measurement: no chart for it, a footnote instead.
        XCTAssertFalse(html.contains("throughput, h2c"))
        XCTAssertTrue(html.contains("flask-peer speaks HTTP/1.1 only"))
        XCTAssertTrue(html.contains("external servers are not measured this way"))
        XCTAssertTrue(html.contains(">ccore</text>"), "ccore in a legend")
        XCTAssertTrue(html.contains(">flask-peer</text>"), "flask-peer in a legend")
        XCTAssertTrue(html.contains("99.99%"), "percentile ticks")
        XCTAssertTrue(html.contains("latency (µs)"))
        XCTAssertTrue(html.contains("throughput (requests/s)"))
        XCTAssertTrue(html.contains("connections"))
        XCTAssertTrue(html.contains("json cost"), "figures table")
        XCTAssertTrue(html.contains("Test CPU @ 3.0GHz"))
        XCTAssertTrue(html.contains("3.0.3"), "server version from its configuration")
        assertWellFormedNumbers(html)
        assertSelfContained(html)
    }

    func testServerColoursAreTheSameInEveryChart() {
        let html = HTMLReport.render(Self.sampleDocument())
        for (index, server) in ["ccore", "flask-peer"].enumerated() {
            let colour = HTMLReport.ServerColours.palette[index]
            // Each legend entry is a swatch in the server's colour followed by its name.
            let entries = html.split(separator: ">\(server)</text>", omittingEmptySubsequences: false).dropLast()
            XCTAssertGreaterThanOrEqual(entries.count, 5, server)
            for entry in entries {
                XCTAssertTrue(entry.suffix(120).contains("stroke=\"\(colour)\""), server)
            }
            XCTAssertTrue(html.contains("fill=\"\(colour)\""), "\(server) bars")
            XCTAssertTrue(html.contains("stroke=\"\(colour)\""), "\(server) lines")
        }
    }

    func testDocumentTextIsEscaped() {
        let html = HTMLReport.render(Self.sampleDocument())
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "log tail escaped")
        XCTAssertTrue(html.contains("&lt;connection reset&gt;"), "error escaped")
        XCTAssertTrue(html.contains("WSGI &quot;prefork&quot; &amp; threads"), "design escaped")
        XCTAssertFalse(html.contains("<script>"))
        XCTAssertFalse(html.contains("<connection reset>"))
    }

    func testEmptyDocumentRendersANote() {
        let html = HTMLReport.render(Self.emptyDocument())
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</html>\n"))
        XCTAssertTrue(html.contains("<body>"))
        XCTAssertTrue(html.contains("no measurements"))
        XCTAssertFalse(html.contains("<svg"))
        assertWellFormedNumbers(html)
        assertSelfContained(html)
    }

    func testPartialRunShowsABanner() {
        var d = Self.sampleDocument()
        d.partial = true
        d.partialReason = "interrupted <by> a signal"
        let html = HTMLReport.render(d)
        XCTAssertTrue(html.contains("class=\"banner\""))
        XCTAssertTrue(html.contains("interrupted &lt;by&gt; a signal"))
    }

    func testNotApplicableOnlyServersRender() {
        var d = Self.emptyDocument()
        d.servers = [
            ServerRecord(name: "nginx", kind: "peer", design: "event loop", configuration: [:], status: .skipped)
        ]
        var m = MeasurementRecord(
            server: "nginx", suite: "basic", workload: "plaintext", description: "", protocolName: "h2", connections: 64
        )
        m.notApplicable = "not built with HTTP/2"
        d.measurements = [m]
        let html = HTMLReport.render(d)
        XCTAssertTrue(html.contains("No charts"))
        XCTAssertTrue(html.contains("title=\"not built with HTTP/2\""))
        assertWellFormedNumbers(html)
    }

    func testDegenerateValuesStillDrawValidCharts() {
        var d = Self.emptyDocument()
        d.servers = [ServerRecord(name: "ccore", kind: "embedded", design: "", configuration: [:], status: .measured)]
        var rep = Self.repetition(rps: 0, p50: 0, allocations: 0, seconds: 1)
        rep.percentileSpectrum = PercentilePoint.spectrum.map { PercentilePoint(percentile: $0, latencyUs: 0) }
        var m = MeasurementRecord(
            server: "ccore", suite: "odd", workload: "zero", description: "", protocolName: "http/1.1", connections: 1)
        m.repetitions = [rep]
        m.summarize()
        d.measurements = [m]
        let html = HTMLReport.render(d)
        XCTAssertTrue(html.contains("odd — throughput, http/1.1, 1 connection"))
        XCTAssertTrue(html.contains("no data"), "zero latencies have no place on a log axis")
        assertWellFormedNumbers(html)

        let lines = LineChart(
            title: "edge",
            lines: [
                LineChart.Line(
                    series: ChartSeries(name: "a", colour: "#000"),
                    points: [(x: 0, y: -1), (x: .nan, y: 1), (x: .infinity, y: 2)]),
                LineChart.Line(series: ChartSeries(name: "b", colour: "#111"), points: [(x: 5, y: 5)]),
            ],
            xAxis: ChartAxis(title: "x (units)", kind: .log10), yAxis: ChartAxis(title: "y (units)", kind: .log10)
        ).svg()
        assertWellFormedNumbers(lines)
        XCTAssertTrue(lines.contains("<circle"), "a single point is still drawn")

        let bars = BarChart(
            title: "equal", categories: ["a", "b"], series: [ChartSeries(name: "s", colour: "#000")],
            values: [[BarValue(value: 7, low: 7, high: 7), nil]], valueAxis: ChartAxis(title: "v (units)"),
            categoryAxisTitle: "category", unit: "units"
        ).svg()
        assertWellFormedNumbers(bars)
        XCTAssertTrue(bars.contains(">n/a</text>"))
        let empty = BarChart(
            title: "empty", categories: [], series: [], values: [], valueAxis: ChartAxis(title: "v"),
            categoryAxisTitle: "c", unit: ""
        ).svg()
        XCTAssertTrue(empty.contains("no data"))
        assertWellFormedNumbers(empty)
    }

    func testScalesChooseRoundTicks() {
        let linear = ChartScale(axis: ChartAxis(title: "", includesZero: true), values: [12, 97])
        XCTAssertEqual(linear.ticks.map(\.label), ["0", "20", "40", "60", "80", "100"])
        let thousands = ChartScale(axis: ChartAxis(title: "", includesZero: true), values: [148_000])
        XCTAssertEqual(thousands.ticks.map(\.label), ["0", "50k", "100k", "150k"])
        let log = ChartScale(axis: ChartAxis(title: "", kind: .log10), values: [3, 4_500, 0, -2])
        XCTAssertEqual(log.ticks.map(\.label), ["1", "10", "100", "1k", "10k"])
        XCTAssertEqual(ChartScale.log10(1000), 3, accuracy: 1e-12)
        XCTAssertEqual(ChartScale.log10(2), 0.301_029_995_663_981_2, accuracy: 1e-12)
        XCTAssertEqual(ChartScale.log10(1 / (1 - 0.999)), 3, accuracy: 1e-9)
    }
}
