import Posix
import Testing
@testable import ThreadedStack

/// How the TLS listener ends connections: clients that never speak TLS, or
/// never finish, must cost neither the acceptor nor a worker, and every close
/// of an established session says close_notify.
@Suite("threaded stack over TLS: hostile clients and closing", .serialized)
struct ThreadedTLSClosingTests {
    /// One worker, so a handshake that held it would keep the good client waiting.
    @Test("garbage for a ClientHello is closed at once, a silent or stalled handshake at the timeout, others served")
    func hostileHandshakes() throws {
        let timeout = 2.0
        try withTLSServer({
            $0.workers = 1
            $0.requestTimeoutSeconds = timeout
        }) { server, certificates in
            let silent = try PlainConnection(port: server.port)
            let stalled = try PlainConnection(port: server.port)
            // A handshake record announcing 512 bytes, and the first four of its ClientHello.
            stalled.send([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])
            for garbage in [Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), [UInt8](repeating: 0xde, count: 64)] {
                let connection = try PlainConnection(port: server.port)
                connection.send(garbage)
                let closedAfter = try #require(connection.secondsUntilClosed(), "the server never closed it")
                #expect(closedAfter < timeout / 2, "garbage must be refused at once, not at the timeout")
            }
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readAnswer().text == "hello")
            let servedAfter = Double(Clock.monotonicNanos() - silent.openedAt) / 1e9
            #expect(servedAfter < timeout * 0.75, "the good client must be served while the others still wait")
            for connection in [silent, stalled] {
                let closedAfter = try #require(connection.secondsUntilClosed(), "the server never closed it")
                #expect(closedAfter >= timeout - 0.1 && closedAfter < timeout + 2.5)
            }
            // The good client's connection outlived them all.
            try client.send("GET /word/still HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readAnswer().text == "still")
        }
    }

    @Test("a TLS close after `Connection: close` starts with close_notify")
    func closeNotifyAfterAnswer() throws {
        try withTLSServer { server, certificates in
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let answer = try client.readAnswer()
            #expect(answer.text == "hello")
            #expect(answer.headers["connection"] == "close")
            #expect(client.readToEnd() == .closeNotify)
        }
    }

    @Test("an idle TLS connection closed at the keep-alive timeout gets close_notify")
    func closeNotifyAtIdleTimeout() throws {
        try withTLSServer({ $0.keepAliveTimeoutSeconds = 1 }) { server, certificates in
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readAnswer().text == "hello")
            #expect(client.readToEnd() == .closeNotify)
        }
    }

    @Test("a TLS request unfinished at the request timeout is answered 408 inside TLS, then close_notify")
    func requestTimeoutOverTLS() throws {
        try withTLSServer({ $0.requestTimeoutSeconds = 1 }) { server, certificates in
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n")
            let answer = try client.readAnswer()
            #expect(answer.status == 408)
            #expect(client.readToEnd() == .closeNotify)
        }
    }

    @Test("a cleartext request to the TLS port is not answered in cleartext")
    func cleartextToTLSPort() throws {
        try withTLSServer { server, _ in
            let connection = try PlainConnection(port: server.port)
            connection.send(Array("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let reply = connection.readAll()
            #expect(!String(decoding: reply, as: UTF8.self).contains("HTTP/1.1"))
            #expect(server.requestsServed == 0)
        }
    }
}
