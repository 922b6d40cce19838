import CCoreStack
import SuiteKit
import Posix

@testable import Suites
import Testing

/// The middleware checks catch a server whose layers are right one by one
/// but in the wrong order, or missing.
@Suite("middleware checks catch wrong chains")
struct MiddlewareOrderTests {
    static func verify(_ layers: [CCoreMiddleware]) throws -> VerificationReport {
        let app = CCoreApp()
        for level in MiddlewarePolicy.levels {
            try app.get("/mw\(level)/hello", middleware: Array(layers.prefix(level))) { ex in
                let context = ex.context
                ex.json { w in
                    w.beginObject()
                    w.key("message"); w.string("hello")
                    w.key("layers"); w.int(level)
                    w.key("user"); if let user = context.user { w.string(user) } else { w.null() }
                    w.key("request_id"); if let id = context.requestID { w.string(id) } else { w.null() }
                    w.key("context"); if let value = context.asyncValue { w.string(value) } else { w.null() }
                    w.endObject()
                }
            }
        }
        try app.get("/mw/stats") { ex in
            ex.json { w in
                w.beginObject(); w.key("logged"); w.int(0); w.endObject()
            }
        }
        let server = try CCoreServer(app: app)
        defer { server.stop() }
        return Verifier.verify(
            suite: MiddlewareSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port))
    }

    static var layers: [CCoreMiddleware] {
        MiddlewareSuite.middlewareLayers(sink: LogSink(), limiter: RateLimiter(policy: MiddlewarePolicy.ratePolicy))
    }

    @Test("authentication outside the request-id and security layers: refusals lack their headers")
    func authOutermost() throws {
        var layers = Self.layers
        let auth = layers.remove(at: 4)
        // Same layers, but authentication runs first: its refusals skip the others.
        layers.insert(CCoreMiddleware(name: auth.name, priority: 0, before: auth.before, after: auth.after), at: 0)
        let report = try Self.verify(layers)
        #expect(!report.passed)
        #expect(report.failures.contains { $0.check.contains("→ 401") && $0.message.contains("X-Request-Id") })
    }

    @Test("a chain without the rate limit fails the 429 check, and one that does not log fails the log check")
    func missingLayers() throws {
        let noLimit = Self.layers.filter { $0.name != "rate-limit" }
        let report = try Self.verify(noLimit)
        #expect(report.failures.contains { $0.check.contains("429") })
        #expect(report.failures.contains { $0.check.contains("logging") })
    }
}
