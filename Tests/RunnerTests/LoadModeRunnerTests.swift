import Results
import Runner
import Suites
import Testing

/// The extra axes of `catbench run` (`--pipeline`, `--no-keepalive`, `-R`),
/// through the runner: each is its own labelled row beside the headline, with
/// right answers, no errors, and the server counting what the load generator did.
@Suite("benchmark runner load modes", .serialized)
struct LoadModeRunnerTests {
    static let rate = 2000.0
    static let duration = 0.3

    static func plan() -> RunPlan {
        var plan = BenchmarkRunnerTests.shortPlan([.ccore])
        plan.repetitions = 1
        plan.duration = duration
        plan.pipeline = 4
        plan.connectionPerRequest = true
        plan.rate = rate
        return plan
    }

    @Test("pipelining, a connection per request and an open loop each get their own rows, measured right")
    func extraAxes() throws {
        let doc = try BenchmarkRunner(plan: Self.plan()) { _ in }.run()
        #expect(doc.servers.map(\.status) == [.measured])
        let workloads = Set(doc.measurements.map(\.workload))
        #expect(!workloads.isEmpty)
        for workload in workloads {
            let rows = doc.measurements.filter { $0.workload == workload }
            // The headline first, then one row per axis, each labelled and carrying its settings.
            #expect(rows.map(\.mode) == ["c8", "c8 ×4", "c8 close", "c8 R2000"], "\(workload)")
            #expect(rows.map(\.pipeline) == [1, 4, 1, 1])
            #expect(rows.map(\.keepAlive) == [true, true, false, true])
            #expect(rows.map(\.rate) == [nil, nil, nil, Self.rate])
            for row in rows {
                let rep = try #require(row.repetitions.first, "\(workload) \(row.mode)")
                #expect(rep.requests > 0, "\(workload) \(row.mode)")
                #expect(rep.errors.total == 0, "\(workload) \(row.mode): \(rep.errors)")
                #expect(rep.wrongAnswers == 0, "\(workload) \(row.mode): \(rep.wrongAnswerExamples)")
                #expect(rep.serverRequests == rep.requests, "\(workload) \(row.mode)")
                #expect(rep.verifiedAnswers > 0, "\(workload) \(row.mode)")
            }
            // Only the open loop counts requests never sent, and with them it kept the whole schedule:
            // 2000/s over 0.3 s is 600 intended send times.
            #expect(rows.prefix(3).allSatisfy { $0.repetitions[0].unsentRequests == nil })
            let open = rows[3].repetitions[0]
            let unsent = try #require(open.unsentRequests)
            #expect(open.requests + unsent == UInt64(Self.rate * Self.duration), "\(workload)")
            #expect(open.uncorrectedLatencyUs != nil)
        }
        let table = TableRenderer.render(doc)
        for label in ["c8 ×4", "c8 close", "c8 R2000"] { #expect(table.contains(label)) }
        // The unsent column shows only when some row has any.
        let anyUnsent = doc.measurements.contains { ($0.repetitions.first?.unsentRequests ?? 0) > 0 }
        #expect(table.contains("unsent") == anyUnsent)
        var lagging = doc
        let index = try #require(lagging.measurements.lastIndex { $0.rate != nil })
        lagging.measurements[index].repetitions[0].unsentRequests = 7
        let shown = TableRenderer.render(lagging)
        #expect(shown.split(separator: "\n").first?.hasSuffix("unsent") == true)
        #expect(shown.contains("unsent: open-loop requests due before the end"))
        // The field survives the document's JSON.
        let back = try ResultsJSON.decode(try ResultsJSON.encode(lagging))
        #expect(back.measurements[index].repetitions[0].unsentRequests == 7)
        #expect(String(decoding: try ResultsJSON.encode(lagging), as: UTF8.self).contains("\"unsent_requests\" : 7"))
    }
}
