import Atomics
@testable import LoadGen
import Posix
@testable import Runner
import SuiteKit
import Suites
import Testing
import ThreadedStack

/// Measurements do not judge or pay for what is not theirs.
@Suite("measurement hygiene", .serialized)
struct MeasurementHygieneTests {
    @Test("answers sampled during the load are judged with the server's waivers, as in verification")
    func sampledAnswersHonourWaivers() throws {
        let spec = try #require(ValidationSuite.contract.cases.first { $0.name == "invalid" }).requests(
            seed: 1, count: 1)[0]
        // A 422 with an error document that names one field: right but for the waivable part.
        let body = Array(#"{"errors":[{"path":"body","message":"the model is invalid"}]}"#.utf8)
        let head = Array(
            "HTTP/1.1 422 Unprocessable Content\r\nContent-Type: application/json\r\nContent-Length: \(body.count)".utf8
        )
        let answer = SampledResponse(status: 422, head: head, body: body)
        let strict = LoadRequests.make([spec], host: "h", check: "invalid")[0]
        #expect(strict.check?(answer)?.contains("error paths differ") == true)
        let waived = LoadRequests.make(
            [spec], host: "h", check: "invalid", waived: { $0 == "error-paths" ? "one message" : nil })[0]
        #expect(waived.check?(answer) == nil)
    }

    @Test("after a load a one-worker server could not keep up with, the next measurement waits until it has caught up")
    func catchUpAfterBacklog() throws {
        let app = ThreadedApp()
        try app.route("/plaintext") { _ in .text("Hello, World!") }
        try app.route("/slow") { _ in
            Clock.sleep(seconds: 0.1)
            return .text("late")
        }
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 1))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        // 15 slow requests queued behind one worker: 1.5 s of work the load generator gives up on at 0.2 s.
        _ = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [.get("/slow")], connections: 15, duration: 0.2,
                timeout: 0.2))
        let runner = BenchmarkRunner(plan: RunPlan()) { _ in }
        runner.backlogged = true
        let target = BenchmarkRunner.Target(
            name: "slow", address: address, exclusions: Exclusions(), speaksHTTP2: false, checksProtocols: false,
            settle: {}, read: { BenchmarkRunner.Counters() }, memory: { _ in (nil, nil) }, failure: { nil },
            samplesMemoryDuringLoad: false)
        let started = Clock.monotonicNanos()
        runner.catchUp(target)
        let waited = Double(Clock.monotonicNanos() - started) / 1e9
        #expect(waited > 0.8, "returned after \(waited) s while the worker still had queued requests")
        #expect(!runner.backlogged)
        // Caught up: a request is answered at once.
        let probe = Clock.monotonicNanos()
        #expect(try ProbeClient(address: address).send(Catalog.readinessRequest).status == 200)
        #expect(Clock.monotonicNanos() - probe < 200_000_000)
    }
}
