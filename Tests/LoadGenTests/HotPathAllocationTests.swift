import Accounting
import Contract
import LoadGen
import Posix
import SuiteApps
import Testing

/// Allocations per request of the load threads themselves, read from their own
/// jemalloc arena: the hot path of every HTTP/1.1 mode allocates nothing.
///
/// A run has fixed costs (threads, the event array, the timeline's seconds),
/// so the figure is the difference between a long and a short run of the same
/// kind, divided by the requests between them: what one more request costs.
@Suite("load generator hot path allocations", .serialized,
       .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out"))
struct HotPathAllocationTests {
    enum Mode: String, CaseIterable, Sendable {
        case keepAlive, pipelined, connectionPerRequest, openLoop, h2c, bodies
    }

    static func options(_ mode: Mode, address: SocketAddress, requests: Int, group: ThreadGroup) -> LoadOptions {
        var options = LoadOptions(address: address, requests: HotPathRequests.make(host: address.description, mode: mode.rawValue),
                                  connections: 4, duration: nil, maxRequests: requests,
                                  onThreadStart: { group.enter() })
        switch mode {
        case .keepAlive, .bodies: break
        case .pipelined: options.pipeline = 8
        case .connectionPerRequest: options.keepAlive = false
        case .openLoop:
            // Fast enough to end in well under a second, slow enough to be an open loop.
            options.rate = 40_000
            options.duration = 5
        case .h2c:
            options.http2 = true
            options.maxStreams = 4
        }
        return options
    }

    /// Allocations of one more request, the fewest over three tries (noise only adds).
    static func marginal(_ mode: Mode, address: SocketAddress) throws -> Double {
        var best = Double.infinity
        for _ in 0..<3 {
            var counts: [UInt64] = []
            for requests in [1000, 5000] {
                let group = ThreadGroup(name: "load", cpus: nil)
                let before = try #require(group.allocationCounters())
                let result = try LoadGenerator.run(options(mode, address: address, requests: requests, group: group))
                let after = try #require(group.allocationCounters())
                #expect(result.requests == UInt64(requests) && result.errors.total == 0, "\(mode): \(result.errors)")
                counts.append((after - before).allocations)
            }
            best = min(best, (Double(counts[1]) - Double(counts[0])) / 4000)
        }
        return best
    }

    @Test("HTTP/1.1 sends and reads without allocating, in every mode", arguments: Mode.allCases.filter { $0 != .h2c })
    func http1(_ mode: Mode) throws {
        let server = try startServer(.ccore, suites: ["basic", "validation"], settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let perRequest = try Self.marginal(mode, address: address)
        print("allocations per request, \(mode): \(perRequest)")
        #expect(perRequest < 0.01, "\(mode): \(perRequest) allocations per request")
    }

    @Test("HTTP/2: what nghttp2 allocates per stream, and nothing more")
    func http2() throws {
        let server = try startServer(.ccore, suites: ["basic", "validation"], settings: ServerSettings(port: 0, h2c: true))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let perRequest = try Self.marginal(.h2c, address: address)
        print("allocations per request, h2c: \(perRequest)")
        #expect(perRequest < 20, "h2c: \(perRequest) allocations per request")
    }
}

/// The requests of the allocation tests: GETs of /users/{id}, or POSTs of the
/// validation suite's large model (bodies of tens of kilobytes, written in pieces).
enum HotPathRequests {
    static func make(host: String, mode: String) -> [LoadRequest] {
        guard mode == "bodies" else {
            return (1...32).map { LoadRequest.get("/users/\($0)", host: host, expectedStatus: 200) }
        }
        // 100 kB bodies: more than one write's worth, so that partial writes are on the path.
        let body = Array(repeating: UInt8(ascii: "x"), count: 100_000)
        let text = "POST /nowhere HTTP/1.1\r\nHost: \(host)\r\nContent-Length: \(body.count)\r\n\r\n"
        return [LoadRequest(bytes: Array(text.utf8) + body, expectedStatus: 404)]
    }
}
