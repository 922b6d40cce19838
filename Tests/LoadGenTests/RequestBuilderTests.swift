import SuiteKit
import LoadGen
import Posix
import Synchronization
import Testing
import ThreadedStack

/// The command line's request builder, judged by what a server receives: a
/// threaded-stack app that keeps every request it is sent.
@Suite("request builder", .serialized)
struct RequestBuilderTests {
    /// A server that answers 200 and keeps each request as it arrived.
    final class EchoServer: Sendable {
        final class Inbox: Sendable {
            let requests = Mutex<[ThreadedStack.Request]>([])
        }

        let inbox = Inbox()
        let server: ThreadedServer

        init() throws {
            let app = ThreadedApp()
            let inbox = self.inbox
            let keep: @Sendable (ThreadedStack.Request) -> Response = { request in
                inbox.requests.withLock { $0.append(request) }
                return .text("ok")
            }
            try app.route("/echo/<int:id>", methods: ["GET", "POST", "PUT"], keep)
            try app.route("/upload", methods: ["POST"], keep)
            server = try ThreadedServer(app: app, configuration: Configuration(maxBodyBytes: 4 << 20))
        }

        /// Sends `requests` once each, in order, over one connection; returns what arrived.
        func send(_ requests: [LoadRequest]) throws -> [ThreadedStack.Request] {
            inbox.requests.withLock { $0.removeAll() }
            let result = try LoadGenerator.run(
                LoadOptions(
                    address: try SocketAddress(host: "127.0.0.1", port: server.port), requests: requests,
                    host: "catbench.test", connections: 1, duration: nil, maxRequests: requests.count))
            #expect(result.requests == UInt64(requests.count) && result.errors.total == 0, "\(result.errors)")
            #expect(result.statusCounts[200] == UInt64(requests.count))
            return inbox.requests.withLock { $0 }
        }
    }

    static func header(_ request: ThreadedStack.Request, _ name: String) -> String? {
        request.headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    @Test("templates: every variant is drawn from its placeholders, distinct, and arrives as built")
    func templates() throws {
        let echo = try EchoServer()
        defer { echo.server.stop() }
        var builder = RequestBuilder(target: "/echo/{{int:1:1000}}?tag={{word}}&n={{seq}}")
        builder.method = "POST"
        builder.templates = true
        builder.headers = [("X-Request-Id", "{{uuid}}"), ("Content-Type", "application/json")]
        builder.body = .bytes(Array(#"{"email":"{{email}}","key":"{{hex:8}}"}"#.utf8))
        let requests = try builder.build(variants: 16, seed: 42)
        #expect(requests.count == 16)
        let got = try echo.send(requests)
        #expect(got.count == 16)
        #expect(got.map { "\($0.path)?\($0.queryString)" } == requests.map(\.target))
        var ids = Set<String>()
        var bodies = Set<[UInt8]>()
        for (n, request) in got.enumerated() {
            #expect(request.method == "POST")
            let id = Int(request.path.dropFirst("/echo/".count))
            #expect(id.map { (1...1000).contains($0) } == true, "\(request.path)")
            let query = request.queryString.split(separator: "&")
            #expect(query.last == "n=\(n)"[...])
            #expect(query.first.map { $0.hasPrefix("tag=") && $0.count > 4 && $0.allSatisfy { $0 != "{" } } == true)
            let uuid = try #require(Self.header(request, "X-Request-Id"))
            let groups = uuid.split(separator: "-").map(\.count)
            #expect(groups == [8, 4, 4, 4, 12] && uuid.allSatisfy { $0.isHexDigit || $0 == "-" }, "\(uuid)")
            #expect(uuid.split(separator: "-")[2].first == "4", "a version-4 UUID: \(uuid)")
            ids.insert(uuid)
            let text = String(decoding: request.body, as: UTF8.self)
            #expect(text.contains("@example.com") && !text.contains("{{"), "\(text)")
            #expect(Self.header(request, "Content-Length") == String(request.body.count))
            #expect(Self.header(request, "Host") == "catbench.test")
            bodies.insert(request.body)
        }
        #expect(ids.count == 16 && bodies.count == 16)
        // The same seed draws the same requests; another seed others.
        #expect(try builder.build(variants: 16, seed: 42).map(\.target) == requests.map(\.target))
        #expect(try builder.build(variants: 16, seed: 43).map(\.target) != requests.map(\.target))
    }

    @Test("multipart: the fields and the file arrive as parts, the file byte for byte and stored once for all variants")
    func multipart() throws {
        let echo = try EchoServer()
        defer { echo.server.stop() }
        // Bytes that look like line ends and dashes, as binary files do.
        var random = SeededRandom(seed: 9)
        let file = (0..<300_000).map { i in i % 97 == 0 ? UInt8(ascii: "-") : UInt8.random(in: 0...255, using: &random)
        }
        var builder = RequestBuilder(target: "/upload")
        builder.method = "POST"
        builder.templates = true
        builder.body = .multipart([
            .field(name: "title", value: "upload {{seq}}"),
            .file(name: "data", filename: "blob.bin", contentType: "application/octet-stream", bytes: file),
            .field(name: "note", value: "after the file"),
        ])
        let requests = try builder.build(variants: 3, seed: 1)
        let shared = requests.map { $0.body.segments[1] }
        #expect(shared.allSatisfy { $0 === shared[0] } && shared[0].count == file.count)
        let got = try echo.send(requests)
        #expect(got.count == 3)
        for (n, request) in got.enumerated() {
            let type = try #require(Self.header(request, "Content-Type"))
            let boundary = try #require(type.split(separator: "boundary=").last.map(String.init))
            #expect(type.hasPrefix("multipart/form-data; "))
            let parts = Self.parts(request.body, boundary: boundary)
            #expect(
                parts.map(\.disposition) == [
                    #"form-data; name="title""#, #"form-data; name="data"; filename="blob.bin""#,
                    #"form-data; name="note""#,
                ])
            #expect(parts.map(\.type) == [nil, "application/octet-stream", nil])
            #expect(parts.count == 3)
            guard parts.count == 3 else { continue }
            #expect(String(decoding: parts[0].content, as: UTF8.self) == "upload \(n)")
            #expect(parts[1].content == file)
            #expect(String(decoding: parts[2].content, as: UTF8.self) == "after the file")
        }
    }

    struct Part {
        var disposition: String?
        var type: String?
        var content: [UInt8]
    }

    /// multipart/form-data split at `--boundary` lines (RFC 2046 §5.1.1), independently of the builder.
    static func parts(_ body: [UInt8], boundary: String) -> [Part] {
        let delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter has no CRLF before it.
        let bytes = [13, 10] + body
        var cuts: [Int] = []
        var i = 0
        while i + delimiter.count <= bytes.count {
            if bytes[i] == 13 && Array(bytes[i..<(i + delimiter.count)]) == delimiter {
                cuts.append(i)
                i += delimiter.count
            } else {
                i += 1
            }
        }
        var parts: [Part] = []
        for (a, b) in zip(cuts, cuts.dropFirst()) {
            let section = Array(bytes[(a + delimiter.count + 2)..<b])
            guard
                let end = (0..<max(0, section.count - 3)).first(where: {
                    section[$0..<($0 + 4)].elementsEqual([13, 10, 13, 10])
                })
            else { continue }
            var part = Part(content: Array(section[(end + 4)...]))
            for line in String(decoding: section[..<end], as: UTF8.self).split(separator: "\r\n") {
                if line.hasPrefix("Content-Disposition: ") { part.disposition = String(line.dropFirst(21)) }
                if line.hasPrefix("Content-Type: ") { part.type = String(line.dropFirst(14)) }
            }
            parts.append(part)
        }
        #expect(Array(bytes.suffix(delimiter.count + 4)) == delimiter + Array("--\r\n".utf8))
        return parts
    }
}
