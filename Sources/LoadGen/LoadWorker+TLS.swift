import COpenSSL
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The byte stream under HTTP: the socket itself, or OpenSSL over it.
extension LoadWorker {
    enum IO {
        static let wouldBlock = -1
        static let failed = -2
    }

    /// Starts (or continues) the TLS handshake; opens the connection for
    /// requests once it is done.
    func handshake(_ i: Int, now: UInt64) {
        if slots[i].ssl == nil {
            guard let tls, let ssl = tls.connection(fd: slots[i].fd) else {
                noteTLSFailure(TLSContext.lastError(nil))
                connectFailed(i, now: now)
                return
            }
            slots[i].ssl = ssl
            slots[i].state = .handshaking
        }
        let rc = SSL_do_handshake(slots[i].ssl)
        if rc == 1 {
            let chosen = TLSContext.alpnSelected(slots[i].ssl!)
            if !chosen.isEmpty && !(tls?.options.alpn.contains(chosen) ?? false) {
                noteTLSFailure("the server chose ALPN '\(chosen)', which was not offered")
                connectFailed(i, now: now)
                return
            }
            negotiated[chosen.isEmpty ? "http/1.1" : chosen, default: 0] += 1
            connected(i, now: now)
            return
        }
        switch SSL_get_error(slots[i].ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return  // the next readiness event continues it
        default:
            noteTLSFailure(TLSContext.lastError(slots[i].ssl))
            connectFailed(i, now: now)
        }
    }

    func noteTLSFailure(_ message: String) {
        if tlsFailures.count < 3 && !tlsFailures.contains(message) { tlsFailures.append(message) }
    }

    /// Sends bytes: the count written, `IO.wouldBlock`, or `IO.failed`.
    @inline(__always)
    func transportSend(_ i: Int, _ base: UnsafeRawPointer, _ length: Int) -> Int {
        if let ssl = slots[i].ssl {
            let n = SSL_write(ssl, base, Int32(min(length, Int(Int32.max))))
            if n > 0 { return Int(n) }
            let e = SSL_get_error(ssl, n)
            return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ ? IO.wouldBlock : IO.failed
        }
        let n = send(slots[i].fd, base, length, Int32(MSG_NOSIGNAL))
        if n >= 0 { return n }
        return errno == EAGAIN || errno == EINTR ? IO.wouldBlock : IO.failed
    }

    /// Receives bytes: the count read, 0 at the end of the stream, `IO.wouldBlock`, or `IO.failed`.
    @inline(__always)
    func transportReceive(_ i: Int, _ base: UnsafeMutableRawPointer, _ capacity: Int) -> Int {
        if let ssl = slots[i].ssl {
            let n = SSL_read(ssl, base, Int32(min(capacity, Int(Int32.max))))
            if n > 0 { return Int(n) }
            switch SSL_get_error(ssl, n) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return IO.wouldBlock
            case SSL_ERROR_ZERO_RETURN: return 0
            case SSL_ERROR_SYSCALL where errno == 0: return 0  // closed without close_notify
            default: return IO.failed
            }
        }
        while true {
            let n = recv(slots[i].fd, base, capacity, 0)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            return errno == EAGAIN ? IO.wouldBlock : IO.failed
        }
    }
}
