import SuiteKit
import Posix
@testable import Suites
import Testing

/// Every stack serves Prometheus metrics at /metrics when asked: answers by
/// route and status class, and a latency histogram; /metrics itself is not counted.
@Suite("Prometheus metrics of the stacks", .serialized)
struct ServerMetricsTests {
    /// A GET whose answer the test checks itself.
    static func get(_ target: String) -> RequestSpec {
        RequestSpec(target: target, expectation: Expectation(status: 200, recommendedHeaders: []))
    }

    @Test("answers are counted per route and status class, latency in a histogram", arguments: StackName.allCases)
    func countsAnswers(_ stack: StackName) throws {
        let server = try startServer(
            stack, suiteNames: ["basic", "middleware"], settings: ServerSettings(metrics: true))
        defer { server.stop() }
        let client = ProbeClient(address: try SocketAddress(host: "127.0.0.1", port: server.port))
        for _ in 0..<7 { #expect(try client.send(Self.get("/plaintext")).status == 200) }
        // No token behind ten layers: the JWT layer refuses, and the refusal is counted on the route.
        #expect(try client.send(Self.get("/mw10/hello")).status == 401)
        _ = try client.send(Self.get("/metrics"))
        let scrape = try client.send(Self.get("/metrics"))
        #expect(scrape.status == 200)
        #expect(
            scrape.headers.contains {
                $0.name.lowercased() == "content-type" && $0.value.hasPrefix("text/plain; version=0.0.4")
            })
        let text = String(decoding: scrape.body, as: UTF8.self)
        let route = "stack=\"\(stack.rawValue)\",method=\"GET\",route=\"/plaintext\""
        #expect(text.contains("http_requests_total{\(route),status=\"2xx\"} 7"), "\(text.prefix(1500))")
        #expect(text.contains("http_requests_total{\(route),status=\"5xx\"} 0"))
        #expect(text.contains("http_request_duration_seconds_count{\(route)} 7"), "\(text.prefix(1500))")
        #expect(text.contains("route=\"/mw10/hello\",status=\"4xx\"} 1"), "\(text.prefix(3000))")
        #expect(!text.contains("route=\"/metrics\""), "the scrape counted itself")
        #expect(server.metrics != nil)
    }

    @Test("without metrics there is no /metrics route and nothing is counted", arguments: StackName.allCases)
    func offByDefault(_ stack: StackName) throws {
        let server = try startServer(stack, suiteNames: ["basic"], settings: ServerSettings())
        defer { server.stop() }
        let client = ProbeClient(address: try SocketAddress(host: "127.0.0.1", port: server.port))
        #expect(try client.send(Self.get("/metrics")).status == 404)
        #expect(server.metrics == nil)
    }
}
