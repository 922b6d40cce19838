import SuiteKit

/// What a middleware layer costs, from the bare endpoint and the one behind ten layers.
extension MiddlewareSuite {
    public static var figures: [FigureRule] {
        [
            FigureRule(
                name: "server CPU per layer", unit: "µs",
                description: "(CPU per request behind 10 layers − with none) / 10"
            ) { m in
                guard let c0 = m["mw0"]?.serverCpuUsPerRequest, let c10 = m["mw10"]?.serverCpuUsPerRequest else {
                    return nil
                }
                return (c10 - c0) / 10
            },
            FigureRule(
                name: "allocations per layer", unit: "",
                description: "(allocations per request behind 10 layers − with none) / 10"
            ) { m in
                guard let a0 = m["mw0"]?.allocationsPerRequest, let a10 = m["mw10"]?.allocationsPerRequest else {
                    return nil
                }
                return (a10 - a0) / 10
            },
            FigureRule(
                name: "p50 latency per layer", unit: "µs",
                description: "(median latency behind 10 layers − with none) / 10"
            ) { m in
                guard let bare = m["mw0"], let full = m["mw10"] else { return nil }
                return (full.p50Us - bare.p50Us) / 10
            },
            FigureRule(
                name: "throughput lost to 10 layers", unit: "%",
                description: "1 − req/s behind 10 layers / req/s with none"
            ) { m in
                guard let bare = m["mw0"], let full = m["mw10"], bare.rps > 0 else { return nil }
                return (1 - full.rps / bare.rps) * 100
            },
        ]
    }
}
