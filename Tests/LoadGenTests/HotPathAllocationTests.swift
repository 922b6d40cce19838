import Accounting
import SuiteKit
import LoadGen
import Posix
import Suites
import Testing

/// Allocations per request of the load threads themselves, read from their own
/// jemalloc arena: the hot path of every HTTP/1.1 mode allocates nothing.
///
/// A run has fixed costs (threads, the event array, the timeline's seconds),
/// so the figure is the difference between a long and a short run of the same
/// kind, divided by the requests between them: what one more request costs.
@Suite(
    "load generator hot path allocations", .serialized,
    .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out"))
struct HotPathAllocationTests {
    enum Mode: String, CaseIterable, Sendable {
        case keepAlive, pipelined, connectionPerRequest, openLoop, h2c, bodies
    }

    static func options(_ mode: Mode, address: SocketAddress, requests: Int, group: ThreadGroup) -> LoadOptions {
        var options = LoadOptions(
            address: address, requests: HotPathRequests.make(host: address.description, mode: mode.rawValue),
            connections: 4, duration: nil, maxRequests: requests,
            onThreadStart: { group.enter() })
        switch mode {
        case .keepAlive, .bodies: break
        case .pipelined: options.pipeline = 8
        case .connectionPerRequest: options.keepAlive = false
        case .openLoop:
            // Slow enough that every connection waits for its turn in the schedule
            // (the due-time heap on every request), fast enough to end in half a second.
            options.rate = 10_000
            options.duration = 5
        case .h2c:
            options.http2 = true
            options.maxStreams = 4
        }
        return options
    }

    /// Allocations of one more request: the fewest a long run made, less the
    /// fewest a short run made (over three tries: noise only adds), per request between.
    static func marginal(_ mode: Mode, address: SocketAddress) throws -> Double {
        var fewest: [UInt64] = [.max, .max]
        for _ in 0..<3 {
            for (n, requests) in [1000, 5000].enumerated() {
                let group = ThreadGroup(name: "load", cpus: nil)
                let before = try #require(group.allocationCounters())
                let result = try LoadGenerator.run(options(mode, address: address, requests: requests, group: group))
                let after = try #require(group.allocationCounters())
                #expect(result.requests == UInt64(requests) && result.errors.total == 0, "\(mode): \(result.errors)")
                fewest[n] = min(fewest[n], (after - before).allocations)
            }
        }
        print("allocations of the load threads, \(mode): \(fewest[0]) for 1000 requests, \(fewest[1]) for 5000")
        return (Double(fewest[1]) - Double(fewest[0])) / 4000
    }

    @Test("HTTP/1.1 sends and reads without allocating, in every mode", arguments: Mode.allCases.filter { $0 != .h2c })
    func http1(_ mode: Mode) throws {
        let server = try startServer(.ccore, suiteNames: ["basic", "validation"], settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let perRequest = try Self.marginal(mode, address: address)
        print("allocations per request, \(mode): \(perRequest)")
        #expect(perRequest < 0.01, "\(mode): \(perRequest) allocations per request")
    }

    @Test("HTTP/2: what nghttp2 allocates per stream, and nothing more")
    func http2() throws {
        let server = try startServer(
            .ccore, suiteNames: ["basic", "validation"], settings: ServerSettings(port: 0, h2c: true))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let perRequest = try Self.marginal(.h2c, address: address)
        print("allocations per request, h2c: \(perRequest)")
        // About 5 (nghttp2's stream, its frames and header block), measured 5.01–5.04: more means
        // the load generator allocates too; far fewer, that the figure should be recorded anew.
        #expect((4.0...6.0).contains(perRequest), "h2c: \(perRequest) allocations per request")
    }
}

/// The requests of the allocation tests: GETs of /users/{id}, or POSTs of the
/// validation suite's large model (bodies of tens of kilobytes, written in pieces).
enum HotPathRequests {
    static func make(host: String, mode: String) -> [LoadRequest] {
        guard mode == "bodies" else {
            return (1...32).map { LoadRequest.get("/users/\($0)", expectedStatus: 200) }
        }
        // 100 kB bodies: more than one write's worth, so that partial writes are on the path.
        let body = RequestBody(Array(repeating: UInt8(ascii: "x"), count: 100_000))
        return [LoadRequest(method: "POST", target: "/nowhere", body: body, expectedStatus: 404)]
    }
}
