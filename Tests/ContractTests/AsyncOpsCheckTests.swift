import Posix
import SuiteKit
import Suites
import Testing
import ThreadedStack

/// The async-ops checks judge from outside the server — the client's clock
/// and the upstream's own records — so servers that only claim to wait, to
/// fan out or to call the upstream fail them.
@Suite("async-ops checks catch servers that fake their work", .serialized)
struct AsyncOpsCheckTests {
    /// A threaded app with the suite's routes done right except where `wrong` says.
    static func verify(upstream: UpstreamService, wrong: (ThreadedApp, SocketAddress) throws -> Void) throws
        -> VerificationReport
    {
        let app = ThreadedApp()
        try wrong(app, upstream.address)
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 4))
        defer { server.stop() }
        return Verifier.verify(
            suite: AsyncOpsSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port),
            services: ServiceDirectory([upstream]))
    }

    static func call(_ address: SocketAddress, _ target: String) -> Int {
        let body =
            (try? ProbeClient(address: address).send(RequestSpec(target: target, expectation: Expectation(status: 200))))?
            .body
        return Int(body.flatMap { JSONValue.parse($0)?["n"]?.intValue } ?? -1)
    }

    static func failed(_ report: VerificationReport) -> Set<String> {
        Set(report.failedWorkloads(of: AsyncOpsSuite.contract).keys)
    }

    @Test("a server that answers io at once, claiming it waited, fails the io workload only")
    func noWait() throws {
        let upstream = try UpstreamService.start()
        defer { upstream.stop() }
        let report = try Self.verify(upstream: upstream) { app, _ in
            try app.route("/async/io") { _ in .json(["io": "done", "waited_us": 1000]) }
        }
        #expect(report.failures.contains { $0.check.contains("client's clock") })
        #expect(Self.failed(report).contains("io"))
    }

    @Test("a fan-out made one call after another gives the right answer but fails the upstream's count")
    func sequentialFanout() throws {
        let upstream = try UpstreamService.start()
        defer { upstream.stop() }
        let report = try Self.verify(upstream: upstream) { app, address in
            try app.route("/async/fanout") { request in
                let group = request.args["group"] ?? ""
                let results = (0..<10).map {
                    JSON.int(Self.call(address, AsyncWork.fanoutTarget(call: $0, group: group)))
                }
                return .json(["calls": 10, "results": .array(results)])
            }
        }
        let fanout = report.failures.filter { $0.workloads == ["fanout"] }
        #expect(fanout.count == 1, "\(fanout)")
        #expect(fanout.first?.message.contains("at most 1 of the fan-out's 10") == true, "\(fanout)")
    }

    @Test("an upstream answer made up without calling the upstream fails the upstream's count")
    func fakedUpstream() throws {
        let upstream = try UpstreamService.start()
        defer { upstream.stop() }
        let report = try Self.verify(upstream: upstream) { app, _ in
            try app.route("/async/upstream") { request in
                .json(["upstream": ["n": .int(Int(request.args["n"] ?? "") ?? 0)]])
            }
        }
        #expect(
            report.failures.contains {
                $0.check.contains("reaches the upstream") && $0.message.contains("made 0 upstream calls")
            })
        #expect(Self.failed(report).contains("upstream"))
    }

    @Test("without the run's upstream the counting checks fail and say what they need")
    func noServices() throws {
        let server = try startServer(.threaded, suites: [AsyncOpsSuite.self], settings: ServerSettings(port: 0))
        defer { server.stop() }
        let report = Verifier.verify(
            suite: AsyncOpsSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port))
        #expect(report.failures.count == 2)
        #expect(report.failures.allSatisfy { $0.message.contains("--upstream") })
    }
}
