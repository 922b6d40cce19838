import SuiteKit
import Posix
import Suites
import Testing
import ThreadedStack

/// Every embedded stack against the basic contract, over real sockets.
@Suite("stacks meet the basic contract")
struct StackVerificationTests {
    @Test(
        "each stack passes every suite's verification with no failures and no warnings",
        arguments: StackName.allCases, Catalog.names)
    func verification(_ stack: StackName, _ suiteName: String) throws {
        let entry = try #require(Catalog.named(suiteName))
        let suite = entry.contract
        // The suite's services, as a run starts them: the verifier reads their own records.
        let services = try ServiceDirectory.start(entry.services)
        defer { services.stop() }
        let server = try startServer(stack, suites: [entry], settings: ServerSettings(port: 0, services: services))
        defer { server.stop() }
        let report = Verifier.verify(
            suite: suite, address: try SocketAddress(host: "127.0.0.1", port: server.port),
            services: services)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.warnings.isEmpty, "\(report.warnings)")
        #expect(report.checksRun == suite.checks.count + suite.cases.count * 5 + suite.scenarios.count)
    }

    @Test(
        "each stack answers malformed input with 400, closes that connection and keeps serving others",
        arguments: StackName.allCases)
    func malformedInput(_ stack: StackName) throws {
        let server = try startServer(stack, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let good = ProbeClient(address: address)
        #expect(try good.send(BasicSuite.contract.checks[0].request).status == 200)
        let garbage: [[UInt8]] = [
            Array("GARBAGE\r\n\r\n".utf8),
            Array("GET / HTTP/1.1\r\nHost x\r\n\r\n".utf8),
            Array(
                "GET /plaintext HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
                    .utf8),
            [0x00, 0x01, 0x02, 0x0D, 0x0A, 0x0D, 0x0A],
        ]
        for bytes in garbage {
            let bad = ProbeClient(address: address)
            let response = try bad.sendRaw(bytes)
            #expect(response.status == 400, "\(stack) answered \(response.status) to \(bytes.prefix(20))")
            #expect(bad.serverClosedConnection(), "\(stack) kept a connection open after a malformed request")
            // The well-behaved connection is unaffected.
            let again = try good.send(BasicSuite.contract.checks[0].request)
            #expect(again.status == 200 && again.bodyText == BasicSuite.plaintextBody)
        }
    }

    @Test("each stack answers pipelined requests in order", arguments: StackName.allCases)
    func pipelining(_ stack: StackName) throws {
        let server = try startServer(stack, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let client = ProbeClient(address: address)
        let ids: [Int64] = [3, 1, 4, 1, 5, 9, 2, 6]
        try client.write(ids.flatMap { Array("GET /users/\($0) HTTP/1.1\r\nHost: t\r\n\r\n".utf8) })
        for id in ids {
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(JSONValue.parse(response.body)?["id"]?.intValue == id)
        }
    }

    @Test("each stack reads a chunked request body and keeps the connection usable", arguments: StackName.allCases)
    func chunkedRequest(_ stack: StackName) throws {
        let server = try startServer(stack, settings: ServerSettings(port: 0))
        defer { server.stop() }
        let client = ProbeClient(address: try SocketAddress(host: "127.0.0.1", port: server.port))
        // GET with a chunked body: the body is read and ignored, the route answers.
        let request = Array(
            "GET /plaintext HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: x\r\n\r\n"
                .utf8)
        let first = try client.sendRaw(request)
        #expect(first.status == 200 && first.bodyText == BasicSuite.plaintextBody)
        let second = try client.send(BasicSuite.contract.checks[1].request)
        #expect(second.status == 200)
    }

    @Test("a server that breaks the contract fails verification, with the reason")
    func wrongServerFails() throws {
        let app = ThreadedApp()
        try app.route("/plaintext") { _ in .text("Hello, world") }  // wrong text
        try app.route("/json") { _ in .json(["message": "Hello, World!"]) }
        try app.route("/users/<id>") { request in
            // 500 for a non-integer.
            guard let id = Int(request.pathParameters["id"] ?? "") else { throw HTTPError(500) }
            return .json(["id": .int(id), "name": .string("User \(id)")])
        }
        try app.route("/search") { _ in .json(["query": "", "limit": 10, "results": []]) }  // wrong count
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0))
        defer { server.stop() }
        let report = Verifier.verify(
            suite: BasicSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port))
        #expect(!report.passed)
        let failed = Set(report.failures.map(\.check))
        #expect(failed.contains("plaintext"))
        #expect(failed.contains("user non-integer id"))
        #expect(failed.contains("search default limit"))
        #expect(!failed.contains("json"))
        #expect(report.failures.first { $0.check == "user non-integer id" }?.message.contains("status 500") == true)
    }

    @Test("a missing Date header is a warning, not a failure")
    func missingDateIsWarning() {
        let expectation = Expectation(status: 200, mediaType: "text/plain", body: .text("x"))
        let response = HTTPResponse(
            status: 200, headers: [("Content-Type", "text/plain"), ("Content-Length", "1"), ("Server", "s")],
            body: Array("x".utf8))
        let findings = expectation.findings(for: response, check: "t")
        #expect(findings.count == 1)
        #expect(findings.first?.level == .warning)
        #expect(findings.first?.message.contains("Date") == true)
    }
}

@Suite("JSON checking")
struct JSONValueTests {
    @Test("valid documents parse to their values")
    func valid() {
        let doc = JSONValue.parse(
            Array(
                #" {"a": [1, -2.5e3, true, false, null, "x\"\\\/\n\u00e9\ud83d\ude00"], "b": {}, "c": [] , "big": 9007199254740993} "#
                    .utf8))
        #expect(doc?["a"]?.arrayValue?.count == 6)
        #expect(doc?["a"]?.arrayValue?[1] == .double(-2500))
        #expect(doc?["a"]?.arrayValue?[5].stringValue == "x\"\\/\né😀")
        #expect(doc?["big"]?.intValue == 9007199254740993)
        #expect(doc?["b"] == .object([:]))
        #expect(JSONValue.parse(Array("0".utf8)) == .int(0))
    }

    @Test(
        "invalid documents are refused",
        arguments: [
            "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "-", "tru", "\"\u{1}\"", "\"\\x\"", "{\"a\" 1}",
            "[1] x", "\"\\ud800\"", "{a:1}", "'a'", "NaN", "1e",
        ])
    func invalid(_ text: String) {
        #expect(JSONValue.parse(Array(text.utf8)) == nil, "accepted \(text.debugDescription)")
    }
}
