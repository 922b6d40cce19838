import SuiteKit
import Foundation
import LoadGen
import Posix
import Runner
import Suites
import Testing

/// HTTP/2 (h2c and over TLS) and TLS loads against the stacks that speak them.
@Suite("load over HTTP/2 and TLS", .serialized)
struct ProtocolTests {
    enum Transport: String, CaseIterable, Sendable {
        case h2c, h2, https1
    }

    /// HTTP/2 where the design speaks it; HTTP/1.1 over TLS on every stack (the threaded one too, as gunicorn's sync workers).
    static let cases: [(StackName, Transport)] =
        [StackName.ccore, .async].flatMap { stack in Transport.allCases.map { (stack, $0) } }
        + [(.threaded, .https1)]

    @Test("every stream or request is answered, checked and counted by the server", arguments: cases)
    func countsEveryStream(_ stack: StackName, _ transport: Transport) throws {
        let tls = transport == .h2c ? nil : try TLSMaterial.selfSigned()
        let server = try startServer(stack, settings: ServerSettings(port: 0, h2c: true, tls: tls))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        var options = LoadOptions(
            address: address, requests: LoadModelTests.userRequests(), host: "localhost", connections: 4,
            duration: nil, maxRequests: 3000, verifyEvery: 1)
        switch transport {
        case .h2c:
            options.http2 = true
            options.maxStreams = 10
        case .h2:
            options.tls = TLSOptions(serverName: "localhost", insecure: true, alpn: ["h2", "http/1.1"])
            options.maxStreams = 10
        case .https1:
            options.tls = TLSOptions(serverName: "localhost", insecure: true, alpn: ["http/1.1"])
        }
        let before = server.requestsServed
        let result = try LoadGenerator.run(options)
        #expect(result.requests == 3000)
        #expect(result.errors.total == 0, "\(result.errors) \(result.tlsFailures)")
        #expect(result.wrongAnswers == 0, "\(result.wrongAnswerExamples)")
        if transport == .https1 {
            // HTTP/1.1 keeps one answer at a time per thread for checking.
            #expect(result.verified > 50)
        } else {
            // Every HTTP/2 stream keeps its own answer: all are checked.
            #expect(result.verified == 3000)
        }
        #expect(server.requestsServed - before == 3000)
        if transport != .h2c {
            #expect(result.negotiated == [transport == .h2 ? "h2" : "http/1.1": 4])
        }
    }

    @Test(
        "a body of a mebibyte goes out whole over every protocol",
        arguments: [(StackName.ccore, Transport?.none)] + cases.map { ($0.0, Optional($0.1)) })
    func largeBodies(_ stack: StackName, _ transport: Transport?) throws {
        let tls = transport == nil || transport == .h2c ? nil : try TLSMaterial.selfSigned()
        let server = try startServer(stack, settings: ServerSettings(port: 0, h2c: true, tls: tls))
        defer { server.stop() }
        let body = RequestBody(Array(repeating: UInt8(ascii: "b"), count: 1 << 20))
        // No route takes it: the server reads the whole body and answers 404, or the stream is out of step.
        let requests = (0..<4).map {
            LoadRequest(method: "POST", target: "/nowhere/\($0)", body: body, expectedStatus: 404)
        }
        var options = LoadOptions(
            address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: requests,
            host: "localhost", connections: 2, duration: nil, maxRequests: 24, timeout: 10)
        switch transport {
        case nil: break
        case .h2c?: options.http2 = true
        case .h2?: options.tls = TLSOptions(serverName: "localhost", insecure: true, alpn: ["h2"])
        case .https1?: options.tls = TLSOptions(serverName: "localhost", insecure: true, alpn: ["http/1.1"])
        }
        let result = try LoadGenerator.run(options)
        #expect(result.requests == 24, "\(result.errors) \(result.tlsFailures)")
        #expect(result.errors.total == 0, "\(result.errors)")
        #expect(result.wrongAnswers == 0, "\(result.statusCounts)")
    }

    @Test("a self-signed certificate is refused with the reason, unless trusted or verification is off")
    func selfSignedCertificate() throws {
        let material = try TLSMaterial.selfSigned()
        let server = try startServer(.ccore, settings: ServerSettings(port: 0, tls: material))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let requests = [LoadRequest.get("/plaintext", expectedStatus: 200)]
        let refused = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: requests, connections: 2, duration: 5,
                tls: TLSOptions(serverName: "localhost")))
        #expect(refused.requests == 0)
        #expect(
            refused.abortReason?.contains("certificate verification failed") == true, "\(refused.abortReason ?? "none")"
        )

        let caFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "catbench-ca-\(UUID().uuidString).pem")
        try material.certificatePEM.write(to: caFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: caFile) }
        for name in ["localhost", "127.0.0.1"] {
            let trusted = try LoadGenerator.run(
                LoadOptions(
                    address: address, requests: requests, connections: 2, duration: nil,
                    maxRequests: 200, tls: TLSOptions(serverName: name, caFile: caFile.path)))
            #expect(trusted.requests == 200, "verifying as \(name): \(trusted.tlsFailures)")
        }
        let wrongName = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: requests, connections: 1, duration: 5,
                tls: TLSOptions(serverName: "example.com", caFile: caFile.path)))
        #expect(wrongName.requests == 0, "a certificate for localhost must not pass as example.com")
    }

    @Test("the threaded stack serves TLS without HTTP/2: a client asking for h2 only gets no connection")
    func threadedRefusesHTTP2OverTLS() throws {
        let server = try startServer(.threaded, settings: ServerSettings(port: 0, tls: try TLSMaterial.selfSigned()))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let requests = [LoadRequest.get("/plaintext", expectedStatus: 200)]
        let h2Only = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: requests, connections: 1, duration: 3,
                tls: TLSOptions(serverName: "localhost", insecure: true, alpn: ["h2"])))
        #expect(h2Only.requests == 0)
        #expect(h2Only.negotiated["h2"] == nil)
    }
}
