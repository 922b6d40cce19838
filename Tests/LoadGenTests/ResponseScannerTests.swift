@testable import LoadGen
import Testing

/// The load generator's answer scanner, fed each answer whole, byte by byte and
/// split at every point, as reads would deliver it.
@Suite("load generator response scanner")
struct ResponseScannerTests {
    struct Case: CustomStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        let status: Int32
        let body: String
        let close: Bool
        var noBody = false
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "content-length",
            bytes: Array("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello".utf8),
            status: 200, body: "hello", close: false),
        Case(
            name: "chunked with extension and trailer",
            bytes: Array(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n 012345678\r\n0\r\nX-Trailer: 1\r\n\r\n"
                    .utf8),
            status: 200, body: "hello 012345678", close: false),
        Case(
            name: "interim 100 then the answer",
            bytes: Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok".utf8),
            status: 201, body: "ok", close: false),
        Case(
            name: "no content", bytes: Array("HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n".utf8), status: 204,
            body: "", close: false),
        Case(
            name: "connection close",
            bytes: Array("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".utf8),
            status: 404, body: "", close: true),
        Case(
            name: "HTTP/1.0 closes by default", bytes: Array("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx".utf8),
            status: 200, body: "x", close: true),
        Case(
            name: "HTTP/1.0 keep-alive",
            bytes: Array("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx".utf8),
            status: 200, body: "x", close: false),
        Case(
            name: "HEAD answer has no body", bytes: Array("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n".utf8),
            status: 200, body: "", close: false, noBody: true),
        Case(
            name: "uppercase header names", bytes: Array("HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 3\r\n\r\nabc".utf8),
            status: 200, body: "abc", close: false),
    ]

    /// Feeds `pieces` and returns the step after the last piece, with the sampled body.
    static func feed(_ c: Case, pieces: [Int]) -> (ResponseScanner.Step, ConnectionSlot, [UInt8]) {
        let capacity = 4096
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var slot = ConnectionSlot(buffer: buffer)
        slot.sampling = true
        slot.noBody = c.noBody
        var head: [UInt8] = []
        var body: [UInt8] = []
        var offset = 0
        var step = ResponseScanner.Step.needMore
        for piece in pieces {
            for k in 0..<piece { buffer[Int(slot.used) + k] = c.bytes[offset + k] }
            slot.used += Int32(piece)
            offset += piece
            step = ResponseScanner.scan(&slot, capacity: capacity, headOut: &head, bodyOut: &body)
            if case .complete = step { break }
            if case .malformed = step { break }
        }
        return (step, slot, body)
    }

    @Test("each answer is found complete with its status, body and connection fate", arguments: cases)
    func scan(_ c: Case) {
        var splits: [[Int]] = [[c.bytes.count], Array(repeating: 1, count: c.bytes.count)]
        for at in 1..<c.bytes.count { splits.append([at, c.bytes.count - at]) }
        for pieces in splits {
            let (step, slot, body) = Self.feed(c, pieces: pieces)
            guard case .complete = step else {
                Issue.record("\(c.name) split \(pieces.prefix(2)): \(step)")
                return
            }
            #expect(slot.status == c.status)
            #expect(String(decoding: body, as: UTF8.self) == c.body, "\(c.name) split \(pieces.prefix(2))")
            #expect(slot.closeAfter == c.close)
            #expect(slot.used == 0)
        }
    }

    @Test("malformed answers are reported as such")
    func malformed() {
        let bad: [String] = [
            "NOT HTTP\r\n\r\n",
            "HTTP/1.1 2x0 OK\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabc",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY",
        ]
        for text in bad {
            let c = Case(name: text, bytes: Array(text.utf8), status: 0, body: "", close: false)
            let (step, _, _) = Self.feed(c, pieces: [c.bytes.count])
            guard case .malformed = step else {
                Issue.record("accepted: \(text.debugDescription)")
                continue
            }
        }
    }

    @Test("an answer body without length runs until the server closes")
    func untilClose() {
        let c = Case(
            name: "until close", bytes: Array("HTTP/1.1 200 OK\r\n\r\nsome bytes".utf8), status: 200, body: "",
            close: true)
        let (step, slot, body) = Self.feed(c, pieces: [c.bytes.count])
        guard case .needMore = step else {
            Issue.record("\(step)")
            return
        }
        #expect(slot.phase == .untilClose)
        #expect(slot.closeAfter)
        #expect(String(decoding: body, as: UTF8.self) == "some bytes")
    }
}
