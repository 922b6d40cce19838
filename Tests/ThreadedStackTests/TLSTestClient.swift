import COpenSSL
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking TLS client made with OpenSSL directly, so the tests do not
/// trust the server's own TLS code to check it. It verifies the server's chain
/// against the test root and the address 127.0.0.1.
final class TLSTestClient {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// One answer: the status, the header fields (names lowercased) and the body.
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// How the server ended the connection.
    enum Ending: Equatable {
        /// A TLS close_notify alert came first.
        case closeNotify
        /// The TCP connection ended without one.
        case bareClose
        /// Nothing came before the socket's timeout.
        case timedOut
    }

    let fd: Int32
    private let context: OpaquePointer
    private let ssl: OpaquePointer
    private var received: [UInt8] = []

    private init(fd: Int32, context: OpaquePointer, ssl: OpaquePointer) {
        self.fd = fd
        self.context = context
        self.ssl = ssl
    }

    deinit {
        SSL_free(ssl)
        SSL_CTX_free(context)
        close(fd)
    }

    /// Connects and completes the handshake offering `alpn` (nil: no ALPN extension).
    static func connect(
        port: UInt16, trusting rootPEM: String, alpn: [String]? = ["http/1.1"],
        timeoutSeconds: Double = 5
    ) throws -> TLSTestClient {
        // The socket BIO writes with write(): a server that closed first must not kill the tests.
        signal(SIGPIPE, SIG_IGN)
        let fd = try Socket.connect(to: SocketAddress(host: "127.0.0.1", port: port), timeoutSeconds: timeoutSeconds)
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            close(fd)
            throw Failure(description: "SSL_CTX_new: \(lastError())")
        }
        guard let ssl = SSL_new(context) else {
            SSL_CTX_free(context)
            close(fd)
            throw Failure(description: "SSL_new: \(lastError())")
        }
        let client = TLSTestClient(fd: fd, context: context, ssl: ssl)  // frees all three from here
        // A memory BIO reads the caller's bytes in place: they must outlive it.
        let root = rootPEM.withCString { pem -> OpaquePointer? in
            let bio = BIO_new_mem_buf(pem, -1)
            defer { BIO_free(bio) }
            return PEM_read_bio_X509(bio, nil, nil, nil)
        }
        guard let root else { throw Failure(description: "the root PEM: \(lastError())") }
        X509_STORE_add_cert(SSL_CTX_get_cert_store(context), root)
        X509_free(root)
        SSL_set_verify(ssl, SSL_VERIFY_PEER, nil)
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1")
        if let alpn {
            var wire: [UInt8] = []
            for name in alpn { wire.append(UInt8(name.utf8.count)); wire += name.utf8 }
            guard SSL_set_alpn_protos(ssl, wire, UInt32(wire.count)) == 0 else {
                throw Failure(description: "cannot offer ALPN \(alpn)")
            }
        }
        SSL_set_fd(ssl, fd)
        guard SSL_connect(ssl) == 1 else { throw Failure(description: "handshake: \(lastError())") }
        return client
    }

    /// The protocol the server selected by ALPN, "" when none.
    var alpnSelected: String {
        var name: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &name, &length)
        guard let name else { return "" }
        return String(decoding: UnsafeBufferPointer(start: name, count: Int(length)), as: UTF8.self)
    }

    /// Writes `bytes` with one SSL_write: up to 16 KiB is one record, more is several.
    func send(_ bytes: [UInt8]) throws {
        var written = 0
        guard SSL_write_ex(ssl, bytes, bytes.count, &written) == 1, written == bytes.count else {
            throw Failure(description: "write: \(Self.lastError())")
        }
    }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Reads one answer framed by Content-Length.
    func readAnswer() throws -> Answer {
        while true {
            if let end = headEnd() {
                let head = String(decoding: received[..<end], as: UTF8.self)
                let lines = head.split(separator: "\r\n")
                let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
                var headers: [String: String] = [:]
                for line in lines.dropFirst() {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " })
                }
                let length = Int(headers["content-length"] ?? "0") ?? 0
                while received.count < end + 4 + length { try fill() }
                let body = Array(received[(end + 4)..<(end + 4 + length)])
                received.removeFirst(end + 4 + length)
                return Answer(status: status, headers: headers, body: body)
            }
            try fill()
        }
    }

    /// Reads until the server ends the connection; says how it did.
    func readToEnd() -> Ending {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            var got = 0
            if SSL_read_ex(ssl, &chunk, chunk.count, &got) == 1 {
                received += chunk[0..<got]
                continue
            }
            let error = SSL_get_error(ssl, 0)
            let timedOut = error == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK)
            ERR_clear_error()
            if error == SSL_ERROR_ZERO_RETURN { return .closeNotify }
            if error == SSL_ERROR_WANT_READ || timedOut { return .timedOut }
            return .bareClose
        }
    }

    /// Bytes read beyond the answers taken so far.
    var unread: [UInt8] { received }

    private func headEnd() -> Int? {
        guard received.count >= 4 else { return nil }
        for i in 0...(received.count - 4)
        where received[i] == 13 && received[i + 1] == 10 && received[i + 2] == 13 && received[i + 3] == 10 {
            return i
        }
        return nil
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 16384)
        var got = 0
        guard SSL_read_ex(ssl, &chunk, chunk.count, &got) == 1 else {
            throw Failure(description: "read (\(received.count) bytes so far): \(Self.lastError())")
        }
        received += chunk[0..<got]
    }

    private static func lastError() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return "no OpenSSL error (timed out or closed)" }
        var text = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &text, text.count)
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
