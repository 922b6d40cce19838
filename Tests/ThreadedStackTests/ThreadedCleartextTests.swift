import Foundation
import Posix
import Testing
@testable import ThreadedStack

/// The cleartext listener still serves keep-alive and pipelined requests after
/// the worker learned TLS, and says nothing in TLS.
@Suite("threaded stack in cleartext")
struct ThreadedCleartextTests {
    @Test("keep-alive and pipelined requests in cleartext")
    func keepAliveAndPipelining() throws {
        let server = try ThreadedServer(app: makeTestApp(), configuration: Configuration(workers: 2))
        defer { server.stop() }
        #expect(!server.servesTLS)
        let connection = try PlainConnection(port: server.port, timeoutSeconds: 3)
        connection.send(Array("GET /word/a HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        let words = ["b", "c", "d"]
        connection.send(
            Array(
                (words.map { "GET /word/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }.joined()
                    + "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").utf8))
        let text = String(decoding: connection.readAll(), as: UTF8.self)
        let bodies = text.components(separatedBy: "HTTP/1.1 200 OK").dropFirst().map {
            $0.components(separatedBy: "\r\n\r\n").last ?? ""
        }
        #expect(bodies == ["a", "b", "c", "d", "hello"])
    }
}
