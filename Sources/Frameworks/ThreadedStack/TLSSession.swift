import CTLSServerShim

/// One connection's TLS state. Used only by the thread that owns the
/// connection at the time (a worker serving it, or the acceptor while it is
/// parked), like the connection's buffer. Reads never wait; writes block.
final class TLSSession {
    enum Progress {
        case done
        /// The client's next bytes are not all here: park the connection.
        case again
        case failed
    }

    enum ReadOutcome {
        case bytes(Int)
        case again
        case closed
    }

    private let handle: OpaquePointer

    init?(context: TLSContext, fd: Int32) {
        guard let handle = ctlss_session_new(context.handle, fd) else { return nil }
        self.handle = handle
    }

    deinit { ctlss_session_free(handle) }

    var isEstablished: Bool { ctlss_established(handle) != 0 }

    func handshake() -> Progress {
        switch ctlss_handshake(handle) {
        case CTLSS_OK: return .done
        case CTLSS_AGAIN: return .again
        default: return .failed
        }
    }

    /// Decrypted bytes into `buffer` (at most `count`, one record at most).
    func read(into buffer: UnsafeMutableRawPointer, count: Int) -> ReadOutcome {
        var got = 0
        switch ctlss_read(handle, buffer, count, &got) {
        case CTLSS_OK: return .bytes(got)
        case CTLSS_AGAIN: return .again
        default: return .closed
        }
    }

    /// Writes all of `bytes`; false when the connection is unusable. `wait: false`
    /// makes one attempt that never blocks.
    func write(_ bytes: UnsafeRawBufferPointer, wait: Bool = true) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        return ctlss_write(handle, base, bytes.count, wait ? 1 : 0) == CTLSS_OK
    }

    /// OpenSSL holds decrypted bytes no read has taken: the socket will not
    /// become readable for them, so the connection must not wait on it.
    var hasDecryptedBytes: Bool { ctlss_pending(handle) > 0 }

    /// OpenSSL holds the start of a record: the client has begun sending.
    var hasPartialRecord: Bool { ctlss_has_partial_record(handle) != 0 }

    /// Sends close_notify once (never blocking), if the session can still send.
    func closeNotify() { ctlss_close_notify(handle) }
}
