/// One client connection: a blocking socket and the bytes read but not yet used.
final class Connection: @unchecked Sendable {
    let fd: Int32
    var buffer: [UInt8] = []
    /// Monotonic time the connection became idle, for the keep-alive timeout.
    var idleSince: UInt64
    /// When the request whose first bytes are in `buffer` began, while it is
    /// parked unfinished (a slow client): the request timeout counts from here.
    var requestStartedAt: UInt64?
    /// On a TLS listener, made by the first worker to serve the connection
    /// (the handshake is a worker's job, never the acceptor's).
    var tls: TLSSession?

    init(fd: Int32, now: UInt64) {
        self.fd = fd
        idleSince = now
        buffer.reserveCapacity(4096)
    }
}
