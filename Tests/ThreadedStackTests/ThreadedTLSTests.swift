import Posix
import Testing
@testable import ThreadedStack

/// HTTP/1.1 over TLS on the threaded stack, checked with an OpenSSL client of
/// the tests' own (`TLSTestClient`) that verifies the chain against a test root.
@Suite("threaded stack over TLS", .serialized)
struct ThreadedTLSTests {
    @Test("a request over TLS is answered; ALPN selects http/1.1; the client verifies the whole chain")
    func answered() throws {
        try withTLSServer { server, certificates in
            #expect(server.servesTLS)
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            #expect(client.alpnSelected == "http/1.1")
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            let answer = try client.readAnswer()
            #expect(answer.status == 200)
            #expect(answer.text == "hello")
        }
    }

    @Test("several requests on one TLS connection (keep-alive)")
    func keepAlive() throws {
        try withTLSServer { server, certificates in
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            for word in ["one", "two", "three", "four", "five"] {
                try client.send("GET /word/\(word) HTTP/1.1\r\nHost: x\r\n\r\n")
                let answer = try client.readAnswer()
                #expect(answer.text == word)
                #expect(answer.headers["connection"] == nil, "the server must keep the connection")
            }
            #expect(server.requestsServed == 5)
        }
    }

    @Test("pipelined requests over TLS are answered in order, in one record and in one record each")
    func pipelined() throws {
        try withTLSServer { server, certificates in
            let words = ["alpha", "beta", "gamma", "delta"]
            let requests = words.map { "GET /word/\($0) HTTP/1.1\r\nHost: x\r\n\r\n" }
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            try client.send(requests.joined())
            for word in words { #expect(try client.readAnswer().text == word) }
            for request in requests { try client.send(request) }
            for word in words { #expect(try client.readAnswer().text == word) }
        }
    }

    @Test("a request larger than one TLS record (16 KiB), and its echo, arrive whole")
    func largerThanOneRecord() throws {
        try withTLSServer { server, certificates in
            let body = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 % 251) }
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM)
            // One SSL_write of 40 KB goes out as three records.
            let head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n"
            try client.send(Array(head.utf8) + body)
            let answer = try client.readAnswer()
            #expect(answer.status == 200)
            #expect(answer.body == body)
            try client.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readAnswer().text == "hello")
        }
    }

    /// With reads of 64 bytes, a first request of exactly 64 bytes leaves the
    /// second, sent in the same record, decrypted inside OpenSSL and none of it in
    /// the socket: a server that parked the connection on the poller would never
    /// answer it (the client would time out).
    @Test("a request whose bytes OpenSSL has already decrypted is answered without the socket turning readable")
    func decryptedBytesAreNotParked() throws {
        try withTLSServer({ $0.tlsReadBytes = 64 }) { server, certificates in
            var first = "GET /word/first HTTP/1.1\r\nHost: x\r\nX-Pad: "
            first += String(repeating: "p", count: 64 - first.utf8.count - 4) + "\r\n\r\n"
            #expect(first.utf8.count == 64)
            let second = "GET /word/second HTTP/1.1\r\nHost: x\r\nX-Pad: \(String(repeating: "q", count: 60))\r\n\r\n"
            let client = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM, timeoutSeconds: 3)
            try client.send(first + second)
            #expect(try client.readAnswer().text == "first")
            #expect(try client.readAnswer().text == "second")
            // And again, after the connection went idle in between.
            try client.send(first + second)
            #expect(try client.readAnswer().text == "first")
            #expect(try client.readAnswer().text == "second")
        }
    }

    @Test("ALPN: a client offering only h2 is refused; one offering h2 and http/1.1, or nothing, gets HTTP/1.1")
    func alpn() throws {
        try withTLSServer { server, certificates in
            #expect {
                _ = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM, alpn: ["h2"])
            } throws: { error in
                "\(error)".contains("no application protocol")
            }
            let both = try TLSTestClient.connect(
                port: server.port, trusting: certificates.rootPEM,
                alpn: ["h2", "http/1.1"])
            #expect(both.alpnSelected == "http/1.1")
            try both.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try both.readAnswer().text == "hello")
            let none = try TLSTestClient.connect(port: server.port, trusting: certificates.rootPEM, alpn: nil)
            #expect(none.alpnSelected == "")
            try none.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try none.readAnswer().text == "hello")
        }
    }

    @Test("a key that does not belong to the certificate, or no certificate, stops the server from starting")
    func setupErrors() throws {
        let certificates = try TestCertificates.shared.get()
        let wrongKey = TLSIdentity(certificateChainPEM: certificates.chainPEM, privateKeyPEM: certificates.otherKeyPEM)
        #expect {
            try ThreadedServer(app: makeTestApp(), configuration: Configuration(tls: wrongKey)).stop()
        } throws: { error in
            "\(error)".contains("does not belong to the certificate")
        }
        let noCertificate = TLSIdentity(certificateChainPEM: "not PEM", privateKeyPEM: certificates.keyPEM)
        #expect {
            try ThreadedServer(app: makeTestApp(), configuration: Configuration(tls: noCertificate)).stop()
        } throws: { error in
            "\(error)".contains("no usable PEM certificate")
        }
    }
}
