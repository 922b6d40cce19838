import Histogram
import LoadGen
import Posix
import Testing

/// Open loop: the requests that were due but never sent, because every
/// connection was waiting for a late answer when the run ended, are counted,
/// and each is in the corrected histogram with its wait to the end of the run.
@Suite("open loop: requests never sent", .serialized)
struct OpenLoopUnsentTests {
    /// The histogram holds a value equivalent to `nanos` at least `times` times.
    static func holds(_ histogram: Histogram<UInt64>, _ nanos: UInt64) -> UInt64 {
        histogram.count(within: histogram.equivalentRangeForValue(nanos))
    }

    @Test(
        "a server that never answers: each connection sends once, the rest of the schedule is unsent, with its exact waits"
    )
    func stalledServer() throws {
        let server = try FaultServer(.stall)
        defer { server.stop() }
        // 40/s over 4 connections: connection g is due at g·25 ms + k·100 ms; the run ends at 1 s.
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: [LoadRequest.get("/")],
                connections: 4, threads: 2, duration: 1, timeout: 1.2, rate: 40))
        // With one request in flight per connection, only the first of each goes out,
        // however late the threads start: the count does not depend on timing.
        #expect(result.sent == 4)
        #expect(result.requests == 0)
        #expect(result.unsent == 36)
        #expect(result.errors.timeout == 4, "\(result.errors)")
        // Intended at 100, 125, …, 975 ms: waits of 900, 875, …, 25 ms to the end, each once.
        #expect(result.latency.totalCount == 36)
        for t in stride(from: 100, through: 975, by: 25) {
            let wait = UInt64(1000 - t) * 1_000_000
            #expect(Self.holds(result.latency, wait) == 1, "wait \(wait / 1_000_000) ms")
        }
        #expect(result.uncorrectedLatency?.totalCount == 0)
        #expect(result.timeline.reduce(0) { $0 + $1.requests } == 0)
    }

    @Test("a server that answers 300 ms late: answered and unsent requests together fill the schedule")
    func slowServer() throws {
        let server = try FaultServer(.delay(seconds: 0.3))
        defer { server.stop() }
        // One connection due every 100 ms for 1 s: ten requests. Each answer takes 300 ms,
        // so about every third is sent (at 0, 300, 600, 900 ms); the rest wait in vain.
        let result = try LoadGenerator.run(
            LoadOptions(
                address: try SocketAddress(host: "127.0.0.1", port: server.port),
                requests: [LoadRequest.get("/", expectedStatus: 200)],
                connections: 1, duration: 1, timeout: 2, rate: 10))
        #expect(result.errors.total == 0, "\(result.errors)")
        #expect(result.requests == result.sent)
        #expect((2...4).contains(result.sent), "sent \(result.sent)")
        #expect(result.sent + result.unsent == 10)
        #expect(result.latency.totalCount == 10)
        // The unsent ones, k = sent … 9, intended at k·100 ms, waited 1000 − k·100 ms.
        for k in Int(result.sent)..<10 {
            #expect(Self.holds(result.latency, UInt64(1000 - 100 * k) * 1_000_000) >= 1, "unsent #\(k)")
        }
        // The answered ones: request k went out when answer k − 1 came, k·300 ms, and
        // came back 300 ms later: (k + 1)·300 − k·100 ms from its intended time, at least.
        let last = UInt64(result.sent) - 1
        #expect(result.latency.max >= ((last + 1) * 300 - last * 100) * 1_000_000 * 99 / 100)
        let uncorrected = try #require(result.uncorrectedLatency)
        #expect(uncorrected.totalCount == result.requests)
        #expect(uncorrected.min >= 299_000_000)
    }

    @Test("a closed loop has nothing unsent, and a healthy open loop sends its whole schedule")
    func nothingUnsent() throws {
        let server = try FaultServer(.delay(seconds: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let closed = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [LoadRequest.get("/")], connections: 2,
                duration: 0.3))
        #expect(closed.unsent == 0 && closed.requests > 0)
        #expect(closed.latency.totalCount == closed.requests)
        // 200/s for 1 s on 2 connections: 200 intended times, each connection idle long before its next.
        let open = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: [LoadRequest.get("/")], connections: 2,
                duration: 1, rate: 200))
        #expect(open.sent + open.unsent == 200)
        #expect(open.latency.totalCount == open.requests + open.unsent)
    }
}
