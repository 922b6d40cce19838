#if canImport(Glibc)
    import Glibc
#endif

/// Thin helpers over socket system calls, each throwing a `PosixError` or a
/// message a user can act on.
public enum Socket {
    /// Why a listener could not be opened, worded for the person who picked the port.
    public struct ListenError: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// A listening TCP socket bound to `address`. Port 0 picks a free port.
    /// `blocking: false` sets O_NONBLOCK on the listener.
    public static func listen(on address: SocketAddress, backlog: Int32 = 1024, blocking: Bool = true) throws -> Int32 {
        let flags = SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | (blocking ? 0 : SOCK_NONBLOCK.rawValue)
        let fd = Glibc.socket(address.domain, Int32(flags), 0)
        guard fd >= 0 else { throw PosixError("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc = address.withSockAddr { Glibc.bind(fd, $0, $1) }
        if rc != 0 {
            let code = errno
            close(fd)
            switch code {
            case EADDRINUSE:
                throw ListenError(
                    description:
                        "port \(address.port) on \(address.host) is in use by another process; pass --port 0 for a free one"
                )
            case EACCES:
                throw ListenError(
                    description:
                        "permission denied binding port \(address.port) on \(address.host); ports below 1024 need privileges, pass --port 0 for a free one"
                )
            case EADDRNOTAVAIL:
                throw ListenError(description: "address \(address.host) is not available on this machine")
            default:
                throw ListenError(description: "cannot bind \(address): \(PosixError("bind", code: code))")
            }
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let error = PosixError("listen")
            close(fd)
            throw error
        }
        return fd
    }

    /// The local port a socket is bound to.
    public static func localPort(of fd: Int32) -> UInt16 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return withUnsafeBytes(of: storage) { raw -> UInt16 in
            // sin_port and sin6_port sit at the same offset, right after the family.
            let port = raw.load(fromByteOffset: 2, as: UInt16.self)
            return UInt16(bigEndian: port)
        }
    }

    /// A blocking TCP connection to `address`, or an error.
    public static func connect(to address: SocketAddress, timeoutSeconds: Double? = nil) throws -> Int32 {
        let fd = Glibc.socket(address.domain, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw PosixError("socket") }
        if let timeoutSeconds { setTimeouts(fd, seconds: timeoutSeconds) }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        guard rc == 0 else {
            let error = PosixError("connect to \(address)")
            close(fd)
            throw error
        }
        setNoDelay(fd)
        return fd
    }

    public static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Receive and send timeouts for blocking sockets.
    public static func setTimeouts(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Writes all of `bytes` to a blocking socket; false when the peer is gone.
    public static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if n > 0 {
                offset += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                return false
            }
        }
        return true
    }
}
