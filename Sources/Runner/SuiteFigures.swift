import Results
import SuiteKit
import Suites

/// The figures suites declare, computed from one server's medians: closed
/// loop, keep-alive, no pipelining, per protocol. Nothing here knows a suite
/// or a workload by name.
enum SuiteFigures {
    static func derive(from measurements: [MeasurementRecord], server: String, suites: [any CatalogSuite.Type])
        -> [FigureRecord]
    {
        var figures: [FigureRecord] = []
        let mine = measurements.filter {
            $0.server == server && $0.median != nil && $0.rate == nil && $0.pipeline == 1 && $0.keepAlive
        }
        for suite in suites {
            let name = suite.contract.name
            let rows = mine.filter { $0.suite == name }
            for proto in Set(rows.map(\.protocolName)).sorted() {
                let medians = WorkloadMedians(
                    rows.filter { $0.protocolName == proto }.map { m in
                        let s = m.median!
                        return (
                            m.workload, m.connections,
                            WorkloadMedians.Figures(
                                rps: s.rps, p50Us: s.latencyUs.p50, p99Us: s.latencyUs.p99,
                                serverCpuUsPerRequest: s.serverCpuUsPerRequest,
                                allocationsPerRequest: s.allocationsPerRequest)
                        )
                    })
                for rule in suite.figures {
                    guard let value = rule.value(medians), value.isFinite else { continue }
                    figures.append(
                        FigureRecord(
                            server: server, suite: name, protocolName: proto, name: rule.name, value: value,
                            unit: rule.unit, description: rule.description))
                }
            }
        }
        return figures
    }
}
