import Posix
@testable import ThreadedStack
#if canImport(Glibc)
    import Glibc
#endif

/// The app the server tests run: a greeting, a path word echoed, a body echoed.
func makeTestApp() throws -> ThreadedApp {
    let app = ThreadedApp()
    try app.route("/hello") { _ in .text("hello") }
    try app.route("/word/<word>") { request in .text(request.pathParameters["word"] ?? "") }
    try app.route("/echo", methods: ["POST"]) { request in
        Response(status: 200, contentType: "application/octet-stream", body: request.body)
    }
    return app
}

/// Runs `body` with a TLS server on a free port, and stops the server however `body` ends.
func withTLSServer(
    _ configure: (inout Configuration) -> Void = { _ in },
    _ body: (ThreadedServer, TestCertificates) throws -> Void
) throws {
    let certificates = try TestCertificates.shared.get()
    var configuration = Configuration(
        workers: 2, requestTimeoutSeconds: 5,
        tls: TLSIdentity(
            certificateChainPEM: certificates.chainPEM,
            privateKeyPEM: certificates.keyPEM))
    configure(&configuration)
    let server = try ThreadedServer(app: makeTestApp(), configuration: configuration)
    defer { server.stop() }
    try body(server, certificates)
}

/// A plain TCP connection to the server, closed when the value goes away.
final class PlainConnection {
    let fd: Int32
    let openedAt = Clock.monotonicNanos()

    init(port: UInt16, timeoutSeconds: Double = 6) throws {
        fd = try Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), timeoutSeconds: timeoutSeconds)
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Socket.sendAll(fd, $0) }
    }

    /// Reads until the peer closes; seconds since the connection opened, or nil at the socket's timeout.
    func secondsUntilClosed() -> Double? {
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 || (n < 0 && errno == EINTR) { continue }
            if n == 0 || errno == ECONNRESET { return Double(Clock.monotonicNanos() - openedAt) / 1e9 }
            return nil
        }
    }

    /// Reads what the peer sends until it closes (or the socket times out).
    func readAll() -> [UInt8] {
        var all: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n > 0 {
                all += buffer[0..<n]
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return all
            }
        }
    }
}
