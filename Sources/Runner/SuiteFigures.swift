import Results

/// Figures a suite derives from its measurements of one server.
enum SuiteFigures {
    static func derive(from measurements: [MeasurementRecord], server: String) -> [FigureRecord] {
        var figures: [FigureRecord] = []
        let mine = measurements.filter { $0.server == server && $0.median != nil && $0.rate == nil && $0.pipeline == 1 && $0.keepAlive }
        for proto in Set(mine.map(\.protocolName)).sorted() {
            let rows = mine.filter { $0.protocolName == proto }
            figures += asyncFigures(from: rows, server: server, protocolName: proto)
            // Middleware: the cost of a layer, from the bare endpoint and the one behind ten layers.
            if let bare = rows.first(where: { $0.suite == "middleware" && $0.workload == "mw0" })?.median,
               let full = rows.first(where: { $0.suite == "middleware" && $0.workload == "mw10" })?.median {
                if let c0 = bare.serverCpuUsPerRequest, let c10 = full.serverCpuUsPerRequest {
                    figures.append(FigureRecord(server: server, suite: "middleware", protocolName: proto, name: "server CPU per layer",
                                                value: (c10 - c0) / 10, unit: "µs", description: "(CPU per request behind 10 layers − with none) / 10"))
                }
                if let a0 = bare.allocationsPerRequest, let a10 = full.allocationsPerRequest {
                    figures.append(FigureRecord(server: server, suite: "middleware", protocolName: proto, name: "allocations per layer",
                                                value: (a10 - a0) / 10, unit: "", description: "(allocations per request behind 10 layers − with none) / 10"))
                }
                figures.append(FigureRecord(server: server, suite: "middleware", protocolName: proto, name: "p50 latency per layer",
                                            value: (full.latencyUs.p50 - bare.latencyUs.p50) / 10, unit: "µs",
                                            description: "(median latency behind 10 layers − with none) / 10"))
                if bare.rps > 0 {
                    figures.append(FigureRecord(server: server, suite: "middleware", protocolName: proto, name: "throughput lost to 10 layers",
                                                value: (1 - full.rps / bare.rps) * 100, unit: "%", description: "1 − req/s behind 10 layers / req/s with none"))
                }
            }
        }
        return figures
    }
}

extension SuiteFigures {
    /// The async suite: how much of ten concurrent waits a design really overlaps.
    static func asyncFigures(from rows: [MeasurementRecord], server: String, protocolName: String) -> [FigureRecord] {
        let single = rows.filter { $0.suite == "async" && $0.connections == 1 }
        guard let io = single.first(where: { $0.workload == "io" })?.median,
              let fanout = single.first(where: { $0.workload == "fanout" })?.median else { return [] }
        return [FigureRecord(server: server, suite: "async", protocolName: protocolName, name: "fan-out latency (1 connection)",
                             value: fanout.latencyUs.p50 / 1000, unit: "ms",
                             description: "median latency of ten concurrent 1 ms calls; 1 ms is full overlap, 10 ms none"),
                FigureRecord(server: server, suite: "async", protocolName: protocolName, name: "fan-out / single call",
                             value: io.latencyUs.p50 > 0 ? fanout.latencyUs.p50 / io.latencyUs.p50 : 0, unit: "×",
                             description: "fan-out median latency over one call's: 1× is full overlap")]
    }
}
