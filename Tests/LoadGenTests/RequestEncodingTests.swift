@testable import LoadGen
import Posix
import Testing

/// Requests as structure, encoded once per protocol: the HTTP/1.1 bytes and
/// the HTTP/2 header lists, from the same fields, with bodies pointed at.
@Suite("request encoding")
struct RequestEncodingTests {
    static let json = RequestBody(Array(#"{"a":1}"#.utf8))

    @Test("HTTP/1.1: request line, Host first, the given fields in order, Content-Length from the body")
    func http1Head() throws {
        let request = LoadRequest(
            method: "POST", target: "/items?x=1",
            headers: [("Content-Type", "application/json"), ("content-length", "999"), ("X-A", "1")],
            body: Self.json)
        let table = try H1RequestTable(requests: [request], host: "127.0.0.1:8080", keepAlive: true)
        #expect(
            table.head(0) == "POST /items?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\n"
                + "X-A: 1\r\nContent-Length: 7\r\n\r\n")
        #expect(table.lengths[0] == table.head(0).utf8.count + 7)
        // The body is the request's own segment, pointed at: not copied into the table.
        #expect(table.pieceCount[0] == 2)
        #expect(table.pieces[table.firstPiece[0] + 1].base == UnsafeMutableRawPointer(Self.json.segments[0].start))
    }

    @Test("HTTP/1.1 framing: an empty POST says Content-Length 0, a GET nothing, a Host field names the authority")
    func http1Framing() throws {
        let requests = [
            LoadRequest(method: "POST", target: "/a"), LoadRequest.get("/b", headers: [("Host", "example.com")]),
            LoadRequest(method: "HEAD", target: "/c"),
        ]
        let table = try H1RequestTable(requests: requests, host: "h", keepAlive: true)
        #expect(table.head(0) == "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        #expect(table.head(1) == "GET /b HTTP/1.1\r\nHost: example.com\r\n\r\n")
        #expect(table.head(2) == "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(requests[2].isHead && !requests[1].isHead)
    }

    @Test("without keep-alive the encoder asks for the close, replacing a Connection field given")
    func connectionClose() throws {
        let request = LoadRequest.get("/", headers: [("Connection", "keep-alive"), ("Accept", "*/*")])
        let closing = try H1RequestTable(requests: [request], host: "h", keepAlive: false)
        #expect(closing.head(0) == "GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nConnection: close\r\n\r\n")
        let keeping = try H1RequestTable(requests: [request], host: "h", keepAlive: true)
        #expect(keeping.head(0) == "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n")
    }

    @Test("HTTP/2: pseudo-headers first, names in lower case, connection-specific fields left out")
    func http2HeaderList() throws {
        let request = LoadRequest(
            method: "POST", target: "/p?q=1",
            headers: [
                ("Host", "example.com"), ("Connection", "close"), ("Keep-Alive", "timeout=5"),
                ("Proxy-Connection", "x"),
                ("Upgrade", "h2c"), ("TE", "gzip"), ("TE", "trailers"), ("X-Mixed-Case", "Value"),
                ("Content-Length", "5"),
            ], body: Self.json)
        let table = try H2RequestTable(requests: [request, LoadRequest.get("/")], host: "127.0.0.1:1", scheme: "https")
        let list = table.headerList(0).map { "\($0.name): \($0.value)" }
        #expect(
            list == [
                ":method: POST", ":scheme: https", ":authority: example.com", ":path: /p?q=1",
                "te: trailers", "x-mixed-case: Value", "content-length: 7",
            ])
        #expect(
            table.headerList(1).map { "\($0.name): \($0.value)" }
                == [":method: GET", ":scheme: https", ":authority: 127.0.0.1:1", ":path: /"])
        #expect(table.bodyLengths == [7, 0])
    }

    @Test("HTTP/2 bodies are read from their segments at any offset")
    func http2BodyAcrossSegments() throws {
        let body = RequestBody(segments: [
            RequestBody.Segment(Array("abc".utf8)), RequestBody.Segment([UInt8]()),
            RequestBody.Segment(Array("defgh".utf8)),
        ])
        #expect(body.count == 8 && body.segments.count == 2)
        let table = try H2RequestTable(
            requests: [LoadRequest(method: "PUT", target: "/", body: body)], host: "h", scheme: "http")
        var out = [UInt8](repeating: 0, count: 8)
        var offset = 0
        while offset < 8 {
            // Three bytes at a time, as a small flow-control window would ask.
            offset += out.withUnsafeMutableBufferPointer {
                table.copyBody(0, from: offset, into: $0.baseAddress! + offset, length: min(3, 8 - offset))
            }
        }
        #expect(String(decoding: out, as: UTF8.self) == "abcdefgh")
        #expect(body.bytes == out)
    }

    @Test(
        "requests that are not HTTP are refused before any connection, with what is wrong",
        arguments: [
            LoadRequest(method: "GE T", target: "/"),
            LoadRequest(method: "", target: "/"),
            LoadRequest.get("/a b"),
            LoadRequest.get(""),
            LoadRequest.get("/", headers: [("Bad Name", "x")]),
            LoadRequest.get("/", headers: [("X-Split", "a\r\nInjected: yes")]),
            LoadRequest(method: "POST", target: "/", headers: [("Transfer-Encoding", "chunked")]),
        ])
    func refused(_ request: LoadRequest) throws {
        let address = try SocketAddress(host: "127.0.0.1", port: 9)
        #expect(throws: LoadOptions.Invalid.self) {
            try LoadGenerator.run(LoadOptions(address: address, requests: [request], duration: 1))
        }
    }

    @Test("bodies built from the same array share one stored segment")
    func bodyPool() {
        let file = [UInt8](repeating: 7, count: 1 << 20)
        let copy = Array(file.map { $0 })
        var pool = RequestBodyPool()
        let a = pool.body(file)
        let b = pool.body(file)
        let c = pool.body(copy)
        #expect(a.segments[0] === b.segments[0])
        #expect(a.segments[0] !== c.segments[0])
        #expect(pool.body([]).isEmpty)
    }
}

extension LoadRequest: CustomTestStringConvertible {
    public var testDescription: String { "\(method) \(target) \(headers.map { "\($0.name): \($0.value)" })" }
}
