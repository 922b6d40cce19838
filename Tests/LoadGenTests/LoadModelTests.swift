import SuiteKit
import Histogram
import LoadGen
import Posix
import Suites
import Testing

/// Pipelining, connection-per-request, open loop with coordinated-omission
/// correction, profiles and the timeline.
@Suite("load models", .serialized)
struct LoadModelTests {
    /// /users/{id} requests that check, when sampled, that the answer is for
    /// their own id: with pipelining, a mix-up of answers shows as wrong answers.
    static func userRequests(count: Int = 64) -> [LoadRequest] {
        (1...count).map { id in
            LoadRequest(target: "/users/\(id)", expectedStatus: 200) { sampled in
                JSONValue.parse(sampled.body)?["id"]?.intValue == Int64(id)
                    ? nil : "answer for another request: \(String(decoding: sampled.body, as: UTF8.self))"
            }
        }
    }

    @Test("pipelined requests are answered in order on every stack", arguments: StackName.allCases)
    func pipelining(_ stack: StackName) throws {
        let server = try startServer(stack, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let before = server.requestsServed
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.userRequests(), connections: 4, duration: nil,
                maxRequests: 4000, verifyEvery: 1, pipeline: 16))
        #expect(result.requests == 4000)
        #expect(result.errors.total == 0)
        #expect(result.verified > 100)
        #expect(result.wrongAnswers == 0, "\(result.wrongAnswerExamples)")
        #expect(server.requestsServed - before == 4000)
    }

    @Test("without keep-alive every request opens its own connection")
    func connectionPerRequest() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.userRequests(), connections: 4, duration: nil,
                maxRequests: 500, verifyEvery: 10, keepAlive: false))
        #expect(result.requests == 500)
        #expect(result.connectionsOpened == 500)
        #expect(result.errors.total == 0)
        #expect(result.wrongAnswers == 0)
    }

    @Test("an open loop holds the asked rate")
    func openLoopRate() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.userRequests(), connections: 10, duration: 2, rate: 2000))
        // 2000/s for 2 s is 4000 intended send times; every one is sent, or counted as never sent.
        #expect(result.sent + result.unsent == 4000)
        #expect(result.requests == result.sent)
        // Only a request due while its connection still waited for an answer at the very end goes unsent.
        #expect(result.requests > 3600, "\(result.requests) of 4000 answered")
        #expect(result.errors.total == 0)
        let uncorrected = try #require(result.uncorrectedLatency)
        #expect(uncorrected.totalCount == result.requests)
        #expect(result.latency.totalCount == result.requests + result.unsent)
        // Measured from the intended time, a latency can only be longer.
        #expect(result.latency.valueAtPercentile(50) >= uncorrected.valueAtPercentile(50))
        #expect(result.timeline.count >= 2)
    }

    @Test(
        "a stall in the middle of an open-loop run shows in the corrected percentiles and hides in the uncorrected ones"
    )
    func coordinatedOmission() throws {
        let server = try FaultServer(.stallOnce(after: 0.5, pause: 0.5))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [LoadRequest.get("/", expectedStatus: 200)], connections: 4,
                duration: 2, timeout: 5, rate: 1000))
        #expect(result.errors.total == 0)
        // Requests owed during the stall are sent after it: the whole schedule, 2000 intended times.
        #expect(result.sent + result.unsent == 2000)
        #expect(result.requests > 1800, "\(result.requests) answered")
        let corrected = result.latency
        let uncorrected = try #require(result.uncorrectedLatency)
        // A quarter of the run's intended sends fall in or behind the 0.5 s stall.
        #expect(corrected.valueAtPercentile(90) > 200_000_000, "corrected p90 \(corrected.valueAtPercentile(90)) ns")
        #expect(corrected.max >= 400_000_000)
        // Only the few requests in flight when it began waited, as far as the uncorrected view knows.
        // (Under 50 ms rather than 20: on a busy machine a round trip can take some milliseconds.)
        #expect(
            uncorrected.valueAtPercentile(90) < 50_000_000, "uncorrected p90 \(uncorrected.valueAtPercentile(90)) ns")
        #expect(uncorrected.max >= 400_000_000)
    }

    @Test("a ramp adds users over time, and the timeline shows it")
    func ramp() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.userRequests(), connections: 16, threads: 2,
                duration: 3, profile: .ramp(from: 1, seconds: 2)))
        #expect(result.errors.total == 0)
        let active = result.timeline.map(\.activeConnections)
        #expect(active.first! < 10, "\(active)")
        #expect(active[2] == 16, "\(active)")
        #expect(result.timeline.reduce(0) { $0 + $1.requests } == result.requests)
        // Two threads' seconds merged as they closed: every second with answers has its percentiles.
        #expect(
            result.timeline.allSatisfy { $0.requests == 0 || ($0.p50Micros > 0 && $0.p99Micros >= $0.p50Micros) },
            "\(result.timeline)")
        #expect(result.timeline.map(\.second) == Array(0..<result.timeline.count))
    }

    @Test("a spike jumps to all users and back")
    func spike() throws {
        let server = try startServer(.ccore, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        // The spike starts and ends in the middle of a second, so what each second
        // shows does not hang on how soon the loop follows the profile (up to 0.5 s).
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: Self.userRequests(), connections: 12,
                duration: 4, profile: .spike(base: 2, at: 1.5, length: 1)))
        #expect(result.errors.total == 0)
        // A second shows the most users it had: 2, then 12 from 1.5 s, through 2.5 s, then 2.
        // A fifth, partial second may hold the answers that came in after the end.
        #expect(
            Array(result.timeline.map(\.activeConnections).prefix(4)) == [2, 12, 12, 2],
            "\(result.timeline.map(\.activeConnections))")
    }

    @Test("histograms from several threads merge exactly")
    func histogramsMergeExactly() {
        var random = SeededRandom(seed: 42)
        var single = Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: .three)
        var parts = (0..<4).map { _ in single }
        for i in 0..<200_000 {
            // A long-tailed mix, like latencies: mostly tens of µs, some ms, a few seconds.
            let base = UInt64.random(in: 20_000...80_000, using: &random)
            let value = i % 1000 == 0 ? base * 50_000 : (i % 50 == 0 ? base * 100 : base)
            _ = single.record(value)
            _ = parts[i % 4].record(value)
        }
        var merged = parts[0]
        for part in parts.dropFirst() { merged.add(part) }
        #expect(merged.totalCount == single.totalCount)
        #expect(merged == single)
        for p in [0.0, 50, 90, 99, 99.9, 99.99, 100] {
            #expect(merged.valueAtPercentile(p) == single.valueAtPercentile(p))
        }
        #expect(merged.max == single.max && merged.min == single.min)
    }

    @Test("profiles give the expected number of users")
    func profiles() {
        #expect(LoadProfile.constant.active(at: 5, total: 10) == 10)
        #expect(LoadProfile.ramp(from: 1, seconds: 10).active(at: 0, total: 11) == 1)
        #expect(LoadProfile.ramp(from: 1, seconds: 10).active(at: 5, total: 11) == 6)
        #expect(LoadProfile.ramp(from: 1, seconds: 10).active(at: 10, total: 11) == 11)
        #expect(LoadProfile.spike(base: 2, at: 1, length: 1).active(at: 0.5, total: 10) == 2)
        #expect(LoadProfile.spike(base: 2, at: 1, length: 1).active(at: 1.5, total: 10) == 10)
        #expect(LoadProfile.spike(base: 2, at: 1, length: 1).active(at: 2.5, total: 10) == 2)
    }
}
