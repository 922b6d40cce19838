import Atomics
import SuiteKit
import LoadGen
import Posix
import Suites
import Testing
#if canImport(Glibc)
    import Glibc
#endif

@Suite("load generator", .serialized)
struct LoadGeneratorTests {
    static let requests: [LoadRequest] = (1...50).map { LoadRequest.get("/users/\($0)", expectedStatus: 200) }

    @Test(
        "a bounded run against each stack answers exactly the requests the server counted",
        arguments: StackName.allCases)
    func countsMatchServer(_ stack: StackName) throws {
        let server = try startServer(stack, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let before = server.requestsServed
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.requests, connections: 16, threads: 2,
                duration: nil, maxRequests: 3000))
        #expect(result.requests == 3000)
        #expect(result.sent == 3000)
        #expect(result.errors.total == 0)
        #expect(result.wrongAnswers == 0)
        #expect(result.statusCounts[200] == 3000)
        #expect(result.latency.totalCount == 3000)
        #expect(server.requestsServed - before == 3000)
    }

    @Test("a duration-bounded run ends on time and what it answered is what the server counted")
    func durationBounded() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let before = server.requestsServed
        let started = Clock.monotonicNanos()
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.requests, connections: 8, duration: 0.5))
        let elapsed = Double(Clock.monotonicNanos() - started) / 1e9
        #expect(elapsed < 3)
        #expect(result.seconds >= 0.5 && result.seconds < 1.5)
        #expect(result.requests > 100)
        #expect(result.sent == result.requests)
        #expect(server.requestsServed - before == result.requests)
    }

    @Test("sampled answers are checked in full, and a wrong body counts as a wrong answer")
    func sampledChecks() throws {
        let server = try startServer(.threaded, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let right = LoadRequest(target: "/plaintext", expectedStatus: 200) { sampled in
            String(decoding: sampled.body, as: UTF8.self) == BasicSuite.plaintextBody ? nil : "wrong body"
        }
        let wrong = LoadRequest(target: "/plaintext", expectedStatus: 200) { sampled in
            String(decoding: sampled.body, as: UTF8.self) == "Goodbye" ? nil : "body is not Goodbye"
        }
        let ok = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [right], connections: 4, duration: nil,
                maxRequests: 400, verifyEvery: 10))
        #expect(ok.verified >= 10)
        #expect(ok.wrongAnswers == 0)
        let bad = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [wrong], connections: 4, duration: nil,
                maxRequests: 400, verifyEvery: 10))
        #expect(bad.wrongAnswers == bad.verified)
        #expect(bad.wrongAnswers >= 10)
        #expect(bad.wrongAnswerExamples.first == "body is not Goodbye")
    }

    @Test("answers with an unexpected status are counted as wrong answers")
    func unexpectedStatus() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [LoadRequest.get("/nowhere", expectedStatus: 200)],
                connections: 2, duration: nil, maxRequests: 100))
        #expect(result.requests == 100)
        #expect(result.statusCounts[404] == 100)
        #expect(result.wrongAnswers == 100)
    }

    @Test("nothing listening: connect errors are counted and the run ends on time")
    func connectErrors() throws {
        let probe = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0))
        let port = Socket.localPort(of: probe)
        close(probe)
        let started = Clock.monotonicNanos()
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: port), requests: [LoadRequest.get("/")],
                connections: 4, duration: 0.3))
        #expect(Double(Clock.monotonicNanos() - started) / 1e9 < 2)
        #expect(result.requests == 0)
        #expect(result.errors.connect > 0)
    }

    @Test("a server that answers garbage is counted as bad responses")
    func garbage() throws {
        let server = try FaultServer(.garbage)
        defer { server.stop() }
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: [LoadRequest.get("/")],
                connections: 2, duration: 0.3))
        #expect(result.requests == 0)
        #expect(result.errors.badResponse > 0)
    }

    @Test("a server that never answers is counted as timeouts and the run still ends on time")
    func stall() throws {
        let server = try FaultServer(.stall)
        defer { server.stop() }
        let started = Clock.monotonicNanos()
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: [LoadRequest.get("/")],
                connections: 3, duration: 0.5, timeout: 0.2))
        let elapsed = Double(Clock.monotonicNanos() - started) / 1e9
        #expect(elapsed < 2)
        #expect(result.requests == 0)
        #expect(result.errors.timeout >= 3)
    }

    @Test("a server that closes on every request is counted as read errors")
    func closes() throws {
        let server = try FaultServer(.closeOnRequest)
        defer { server.stop() }
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: [LoadRequest.get("/")],
                connections: 2, duration: 0.3))
        #expect(result.requests == 0)
        #expect(result.errors.read > 0)
    }

    @Test("a server that resets every connection is counted as read errors, and the run ends on time")
    func resets() throws {
        let server = try FaultServer(.resetOnRequest)
        defer { server.stop() }
        let started = Clock.monotonicNanos()
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: [LoadRequest.get("/")],
                connections: 4, duration: 0.5))
        #expect(Double(Clock.monotonicNanos() - started) / 1e9 < 2)
        #expect(result.requests == 0)
        #expect(result.errors.read > 0, "\(result.errors)")
    }

    @Test(
        "a server that dies in the middle of a run: what it answered is kept, the rest counted as errors, the run ends on time"
    )
    func serverDiesMidRun() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        // The server dies once it has answered 500 requests (or after 1 s, whichever comes first),
        // not at a fixed time: on a busy machine 0.4 s may hold few answers.
        let servedAtDeath = ManagedAtomic<UInt64>(0)
        let killer = try PosixThread(name: "killer") {
            let started = Clock.monotonicNanos()
            while server.requestsServed < 500 && Clock.monotonicNanos() - started < 1_000_000_000 {
                Clock.sleep(seconds: 0.001)
            }
            servedAtDeath.store(server.requestsServed, ordering: .relaxed)
            server.stop()
        }
        defer { killer.join() }
        let started = Clock.monotonicNanos()
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [LoadRequest.get("/plaintext")], connections: 8, duration: 1.5))
        let elapsed = Double(Clock.monotonicNanos() - started) / 1e9
        #expect(elapsed < 4, "the run took \(elapsed) s")
        // Every answer written before the end arrived; at most one in flight per connection was cut off.
        let served = servedAtDeath.load(ordering: .relaxed)
        #expect(served > 0 && result.requests + 8 >= served, "\(result.requests) answers, \(served) served")
        #expect(result.errors.connect + result.errors.read > 0, "\(result.errors)")
        #expect(result.wrongAnswers == 0)
    }

    @Test("invalid options are refused with a message")
    func invalidOptions() throws {
        let address = try SocketAddress(host: "127.0.0.1", port: 9)
        #expect(throws: LoadOptions.Invalid.self) {
            try LoadGenerator.run(LoadOptions(address: address, requests: [], duration: 1))
        }
        #expect(throws: LoadOptions.Invalid.self) {
            try LoadGenerator.run(
                LoadOptions(address: address, requests: [LoadRequest.get("/")], connections: 2, threads: 4))
        }
        #expect(throws: LoadOptions.Invalid.self) {
            try LoadGenerator.run(LoadOptions(address: address, requests: [LoadRequest.get("/")], duration: nil))
        }
    }

    @Test("target URLs are parsed, https and junk refused")
    func targetURLs() throws {
        let t = try TargetURL("http://127.0.0.1:8080/search?q=a")
        #expect(t.host == "127.0.0.1" && t.port == 8080 && t.pathAndQuery == "/search?q=a")
        let v6 = try TargetURL("http://[::1]:9000")
        #expect(v6.host == "::1" && v6.port == 9000 && v6.pathAndQuery == "/")
        let secure = try TargetURL("https://localhost/x")
        #expect(secure.secure && secure.port == 443 && secure.hostHeader == "localhost")
        #expect(throws: TargetURL.Invalid.self) { try TargetURL("ftp://x") }
        #expect(throws: TargetURL.Invalid.self) { try TargetURL("http://127.0.0.1:99999/") }
    }
}
