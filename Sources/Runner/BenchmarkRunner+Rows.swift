import Results
import SuiteKit

extension BenchmarkRunner {
    /// A row for every way the plan loads each workload of `suites` over `protocols`.
    func rows(
        _ server: String, protocols: [WireProtocol], suites: [SuiteContract], only workload: String? = nil,
        fill: (inout MeasurementRecord) -> Void
    ) -> [MeasurementRecord] {
        var out: [MeasurementRecord] = []
        for proto in protocols {
            for suite in suites {
                for loadCase in suite.cases where workload == nil || loadCase.name == workload {
                    for mode in plan.modes(for: proto, suite: suite, loadCase: loadCase) {
                        var m = MeasurementRecord(
                            server: server, suite: suite.name, workload: loadCase.name, description: loadCase.summary,
                            protocolName: proto.resultName, connections: mode.connections, pipeline: mode.pipeline,
                            keepAlive: mode.keepAlive, rate: mode.rate, mode: mode.label)
                        m.streams = mode.streams
                        fill(&m)
                        out.append(m)
                    }
                }
            }
        }
        return out
    }

    /// Rows that say a server cannot do something, with the reason, rather than leaving it out.
    func notApplicable(
        _ server: String, protocols: [WireProtocol], suites: [SuiteContract], only workload: String? = nil,
        reason: String, into doc: inout RunDocument
    ) {
        doc.measurements += rows(server, protocols: protocols, suites: suites, only: workload) {
            $0.notApplicable = reason
        }
    }

    /// Rows that say a measurement failed, with the reason (workloads a server
    /// declared not applicable keep their n/a rows instead).
    func failed(
        _ server: String, protocols: [WireProtocol], suites: [SuiteContract], only workload: String? = nil,
        reason: String, exclusions: Exclusions = Exclusions(), into doc: inout RunDocument
    ) {
        guard !plan.verifyOnly else { return }
        let applicable = suites.filter { exclusions.reasons[$0.name] == nil }
        doc.measurements += rows(server, protocols: protocols, suites: applicable, only: workload) {
            $0.failure = reason
        }
        .filter { exclusions.reason(suite: $0.suite, item: $0.workload) == nil }
    }

    /// Failed rows for the workloads that passed verification (the others have theirs already).
    func failed(
        _ server: String, protocols: [WireProtocol], workloads: [String: [String]], suites: [SuiteContract],
        reason: String, into doc: inout RunDocument
    ) {
        for suite in suites {
            for workload in workloads[suite.name] ?? [] {
                failed(server, protocols: protocols, suites: [suite], only: workload, reason: reason, into: &doc)
            }
        }
    }
}
