import Peers
import Posix
import Results
import Runner
import SuiteKit
import Suites
import Testing
import ThreadedStack

/// What cannot be measured is a row that says why — never a dropped row.
@Suite("failed rows", .serialized)
struct FailedRowTests {
    static func plan(stacks: [StackName] = [], peers: [PeerSpec] = []) -> RunPlan {
        var plan = RunPlan()
        plan.stacks = stacks
        plan.peers = peers
        plan.duration = 0.2
        plan.warmup = 0
        plan.repetitions = 2
        plan.connectionLevels = [4]
        return plan
    }

    @Test("a TLS instance that does not start gives a failed row per TLS workload, with the reason")
    func tlsInstanceFails() throws {
        var plan = Self.plan(stacks: [.ccore])
        plan.protocols = [.http1, .h2]
        plan.tls = TLSMaterial(certificatePEM: "not a certificate", privateKeyPEM: "not a key")
        let doc = try BenchmarkRunner(plan: plan) { _ in }.run()
        let tls = doc.measurements.filter { $0.protocolName == "h2" }
        #expect(tls.count == BasicSuite.contract.cases.count)
        #expect(
            tls.allSatisfy { $0.failure?.contains("the TLS instance did not start") == true && $0.repetitions.isEmpty })
        let clear = doc.measurements.filter { $0.protocolName == "http/1.1" }
        #expect(clear.count == 4 && clear.allSatisfy { $0.failure == nil && $0.median != nil })
        #expect(doc.servers[0].error?.contains("TLS instance") == true)
        #expect(TableRenderer.render(doc).contains("FAILED"))
    }

    @Test("a workload that fails its checks is a failed row and not measured; the suite's other workloads are")
    func oneWorkloadFails() throws {
        // The basic suite, right but for /search, which ignores the limit.
        let app = ThreadedApp()
        try app.route("/plaintext") { _ in .text("Hello, World!") }
        try app.route("/json") { _ in .json(["message": "Hello, World!"]) }
        try app.route("/users/<int:id>") { request in
            let id = request.intParameter("id") ?? 0
            return .json(["id": .int(id), "name": .string("User \(id)")])
        }
        try app.route("/search") { _ in .json(["query": "", "limit": 10, "results": []]) }
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 2))
        defer { server.stop() }
        let doc = try BenchmarkRunner(
            plan: Self.plan(peers: [try PeerSpec.running("wrong=http://127.0.0.1:\(server.port)")])
        ) { _ in
        }.run()
        let rows = Dictionary(uniqueKeysWithValues: doc.measurements.map { ($0.workload, $0) })
        #expect(
            rows["search"]?.failure?.hasPrefix("failed verification: search") == true,
            "\(rows["search"]?.failure ?? "none")")
        #expect(rows["search"]?.repetitions.isEmpty == true)
        for workload in ["plaintext", "json", "user"] {
            #expect(rows[workload]?.failure == nil && rows[workload]?.median != nil, "\(workload)")
        }
        #expect(doc.servers[0].status == .failedVerification)
        #expect(doc.servers[0].verification.first?.failedWorkloads == ["search"])
    }

    @Test("a measurement whose every repetition failed is a failed row with the last reason")
    func everyRepetitionFails() throws {
        let server = try startServer(.threaded, settings: ServerSettings(port: 0))
        let peer = try PeerSpec.running("vanishing=http://127.0.0.1:\(server.port)")
        // The server passes verification and is gone before the first repetition.
        let doc = try BenchmarkRunner(plan: Self.plan(peers: [peer])) { line in
            if line.contains("vanishing: basic verified") { server.stop() }
        }.run()
        #expect(doc.measurements.count == BasicSuite.contract.cases.count)
        for m in doc.measurements {
            #expect(m.repetitions.isEmpty)
            #expect(
                m.failure?.hasPrefix("no repetition could be measured: ") == true,
                "\(m.workload): \(m.failure ?? "none")")
            #expect(m.failure?.contains("no connection could be made") == true, "\(m.failure ?? "none")")
        }
    }
}
