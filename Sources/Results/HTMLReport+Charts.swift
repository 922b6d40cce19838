/// Which charts a suite gets, chosen from its measurements: throughput per
/// server, the latency percentile spectrum, throughput over time, throughput
/// against concurrency, and allocations per request.
extension HTMLReport {
    /// The colour of each server, the same in every chart: Okabe–Ito's
    /// colour-blind-safe palette in order of first appearance, dashed lines
    /// once it has gone round.
    struct ServerColours {
        static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]
        private(set) var order: [String] = []

        init(_ document: RunDocument) {
            for name in document.servers.map(\.name) + document.measurements.map(\.server) where !order.contains(name) {
                order.append(name)
            }
        }

        func series(_ server: String) -> ChartSeries {
            let index = order.firstIndex(of: server) ?? order.count
            let round = index / Self.palette.count
            return ChartSeries(
                name: server, colour: Self.palette[index % Self.palette.count],
                dash: round == 0 ? nil : (round == 1 ? "6 3" : "2 2"))
        }

        /// Server names sorted into palette order.
        func sorted(_ servers: [String]) -> [String] {
            servers.sorted { (order.firstIndex(of: $0) ?? order.count) < (order.firstIndex(of: $1) ?? order.count) }
        }
    }

    /// One load shape: the protocol, the connections and the streams on each.
    struct LoadShape: Hashable {
        var protocolName: String
        var connections: Int
        var streams: Int

        init(_ m: MeasurementRecord) {
            protocolName = m.protocolName
            connections = m.connections
            streams = m.streams
        }

        var label: String {
            "\(protocolName), \(connections) connection\(connections == 1 ? "" : "s")"
                + (streams > 1 ? " × \(streams) streams" : "")
        }
    }

    /// The charts of one suite as <figure> elements, and notes to print under them.
    struct SuiteCharts {
        let suite: String
        let measurements: [MeasurementRecord]
        let colours: ServerColours
        /// The run's connection setting: the headline level when it was measured.
        let preferredConnections: Int

        func render() -> (figures: [String], notes: [String]) {
            var figures = throughputCharts()
            for workload in HTMLReport.distinct(headline.map(\.workload)) {
                guard let group = headlineGroup(workload) else { continue }
                figures += [spectrumChart(workload, group), timelineChart(workload, group)].compactMap { $0 }
            }
            figures += concurrencyCharts()
            let costs = costCharts()
            figures += costs
            let notes =
                costs.isEmpty
                ? []
                : [
                    "Allocations are counted in the jemalloc arenas of catbench's own process, so only the embedded stacks have them; external servers are not measured this way (their memory and CPU per request are, in the table)."
                ]
            return (figures, notes)
        }

        /// Keep-alive, unpipelined, closed loop: the figures a reader compares first.
        var headline: [MeasurementRecord] {
            measurements.filter { $0.keepAlive && $0.pipeline == 1 && $0.rate == nil }
        }

        /// A workload's headline measurements at one load shape: the first
        /// protocol, at the run's connection setting when measured, else the first level.
        func headlineGroup(_ workload: String) -> (shape: LoadShape, measurements: [MeasurementRecord])? {
            let candidates = headline.filter { $0.workload == workload }
            guard let protocolName = candidates.first?.protocolName else { return nil }
            let sameProtocol = candidates.filter { $0.protocolName == protocolName }
            let chosen =
                sameProtocol.first(where: { $0.connections == preferredConnections && $0.streams == 1 })
                ?? sameProtocol.first(where: { $0.streams == 1 }) ?? sameProtocol[0]
            let shape = LoadShape(chosen)
            return (shape, candidates.filter { LoadShape($0) == shape })
        }

        func throughputCharts() -> [String] {
            HTMLReport.distinct(headline.map(LoadShape.init)).compactMap { shape -> String? in
                let group = headline.filter { LoadShape($0) == shape }
                guard group.contains(where: { $0.notApplicable == nil && $0.median != nil }) else { return nil }
                return bars(
                    group, title: "\(suite) — throughput, \(shape.label)",
                    axis: "throughput (requests/s)", unit: "requests/s"
                ) { s in
                    BarValue(value: s.rps, low: s.rpsMin, high: s.rpsMax)
                }
            }
        }

        func spectrumChart(_ workload: String, _ group: (shape: LoadShape, measurements: [MeasurementRecord]))
            -> String?
        {
            var lines: [LineChart.Line] = []
            for m in measured(group.measurements) {
                let points = Self.medianSpectrum(m.repetitions)
                if !points.isEmpty { lines.append(LineChart.Line(series: colours.series(m.server), points: points)) }
            }
            guard !lines.isEmpty else { return nil }
            let furthest = lines.flatMap { $0.points.map { $0.x } }.max() ?? 1
            let labels = ["0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"]
            let last = min(max(Int((furthest - 1e-9).rounded(.up)), 1), labels.count - 1)
            let ticks = (0...last).map { ChartTick(value: Double($0), label: labels[$0]) }
            return figure(
                LineChart(
                    title: "\(suite) — \(workload) latency by percentile, \(group.shape.label)", lines: lines,
                    xAxis: ChartAxis(title: "percentile (log scale of 1/(1 − p))", ticks: ticks),
                    yAxis: ChartAxis(title: "latency (µs)", kind: .log10)
                ).svg())
        }

        func timelineChart(_ workload: String, _ group: (shape: LoadShape, measurements: [MeasurementRecord]))
            -> String?
        {
            var lines: [LineChart.Line] = []
            for m in measured(group.measurements) {
                var points: [(x: Double, y: Double)] = []
                var start = 0.0
                // Repetitions back to back: each starts where the one before ended.
                // A second the repetition only partly covered (its last, or the
                // only one of a short repetition) counts its answers over the
                // part covered, so the line shows a rate, not a count.
                for rep in m.repetitions {
                    let timeline = rep.timeline ?? []
                    guard let first = timeline.map(\.second).min(), let last = timeline.map(\.second).max() else {
                        continue
                    }
                    let span = rep.seconds > 0 ? rep.seconds : Double(last - first + 1)
                    for t in timeline {
                        let offset = Double(t.second - first)
                        let covered = min(1, span - offset)
                        guard covered >= 0.1 else { continue }
                        points.append((x: start + offset + covered / 2, y: Double(t.requests) / covered))
                    }
                    start += span
                }
                if !points.isEmpty { lines.append(LineChart.Line(series: colours.series(m.server), points: points)) }
            }
            guard !lines.isEmpty else { return nil }
            return figure(
                LineChart(
                    title: "\(suite) — \(workload) throughput over time, \(group.shape.label)", lines: lines,
                    xAxis: ChartAxis(title: "time (s), repetitions back to back", includesZero: true),
                    yAxis: ChartAxis(title: "throughput (requests/s)", includesZero: true)
                ).svg())
        }

        func concurrencyCharts() -> [String] {
            let closed = measurements.filter {
                $0.keepAlive && $0.pipeline == 1 && $0.rate == nil && $0.notApplicable == nil && $0.median != nil
            }
            struct Key: Hashable {
                var workload: String, protocolName: String, streams: Int
                init(_ m: MeasurementRecord) {
                    workload = m.workload
                    protocolName = m.protocolName
                    streams = m.streams
                }
            }
            return HTMLReport.distinct(closed.map(Key.init)).compactMap { key -> String? in
                let group = closed.filter { Key($0) == key }
                guard Set(group.map(\.connections)).count >= 2 else { return nil }
                let lines = colours.sorted(HTMLReport.distinct(group.map(\.server))).map { server in
                    LineChart.Line(
                        series: colours.series(server),
                        points: group.filter { $0.server == server }.compactMap { m in
                            m.median.map { (x: Double(m.connections), y: $0.rps) }
                        })
                }
                let streams = key.streams > 1 ? " × \(key.streams) streams" : ""
                return figure(
                    LineChart(
                        title: "\(suite) — \(key.workload) throughput by connections, \(key.protocolName)\(streams)",
                        lines: lines,
                        xAxis: ChartAxis(title: "connections", kind: .log10),
                        yAxis: ChartAxis(title: "throughput (requests/s)", includesZero: true)
                    ).svg())
            }
        }

        /// Allocations and bytes allocated per request, at each workload's headline shape.
        func costCharts() -> [String] {
            let group = HTMLReport.distinct(headline.map(\.workload)).compactMap { headlineGroup($0) }.flatMap {
                $0.measurements
            }
            var charts: [String] = []
            if group.contains(where: { $0.notApplicable == nil && $0.median?.allocationsPerRequest != nil }) {
                charts.append(
                    bars(
                        group, title: "\(suite) — allocations per request",
                        axis: "allocations per request (allocs/req)",
                        unit: "allocs/req", only: { $0.median?.allocationsPerRequest != nil }
                    ) { s in
                        s.allocationsPerRequest.map { BarValue(value: $0) }
                    })
            }
            if group.contains(where: { $0.notApplicable == nil && $0.median?.bytesPerRequest != nil }) {
                charts.append(
                    bars(
                        group, title: "\(suite) — bytes allocated per request",
                        axis: "allocated per request (bytes/req)",
                        unit: "bytes/req", only: { $0.median?.bytesPerRequest != nil }
                    ) { s in
                        s.bytesPerRequest.map { BarValue(value: $0) }
                    })
            }
            return charts
        }

        /// Grouped bars: workloads across, one bar per server, drawn from each measurement's medians.
        func bars(
            _ group: [MeasurementRecord], title: String, axis: String, unit: String,
            only include: (MeasurementRecord) -> Bool = { _ in true },
            value: (SummaryRecord) -> BarValue?
        ) -> String {
            let workloads = HTMLReport.distinct(group.map(\.workload))
            let included = Set(group.filter(include).map(\.server))
            let servers = colours.sorted(HTMLReport.distinct(group.map(\.server)).filter { included.contains($0) })
            let values = servers.map { server in
                workloads.map { workload -> BarValue? in
                    guard let m = group.first(where: { $0.server == server && $0.workload == workload }),
                        m.notApplicable == nil, let summary = m.median
                    else { return nil }
                    return value(summary)
                }
            }
            let chart = BarChart(
                title: title, categories: workloads, series: servers.map(colours.series), values: values,
                valueAxis: ChartAxis(title: axis, includesZero: true), categoryAxisTitle: "workload", unit: unit)
            return figure(chart.svg(), wide: workloads.count * max(servers.count, 1) > 24)
        }

        func measured(_ group: [MeasurementRecord]) -> [MeasurementRecord] {
            let present = group.filter { $0.notApplicable == nil && !$0.repetitions.isEmpty }
            return colours.sorted(HTMLReport.distinct(present.map(\.server))).compactMap { server in
                present.first(where: { $0.server == server })
            }
        }

        func figure(_ svg: String, wide: Bool = false) -> String {
            "<figure class=\"chart\(wide ? " wide" : "")\">\(svg)</figure>"
        }

        /// For each percentile, the median latency over the repetitions, placed on
        /// HdrHistogram's axis x = log10(1 / (1 − p)); 100% (the maximum) has no place on it.
        static func medianSpectrum(_ repetitions: [RepetitionRecord]) -> [(x: Double, y: Double)] {
            var latencies: [Double: [Double]] = [:]
            for rep in repetitions {
                for point in rep.percentileSpectrum ?? []
                where point.percentile.isFinite && point.percentile >= 0 && point.percentile <= 99.9999 {
                    latencies[point.percentile, default: []].append(point.latencyUs)
                }
            }
            return latencies.keys.sorted().map { p in
                (x: ChartScale.log10(1 / (1 - p / 100)), y: median(latencies[p] ?? []))
            }
        }
    }
}
