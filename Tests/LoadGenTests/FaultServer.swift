import Atomics
import Posix
#if canImport(Glibc)
import Glibc
#endif

/// A TCP server that misbehaves on purpose, to see the load generator count
/// each fault by kind and still end on time.
final class FaultServer: @unchecked Sendable {
    enum Mode: Sendable {
        /// Answers every request with bytes that are not HTTP.
        case garbage
        /// Reads requests and never answers.
        case stall
        /// Closes every connection as soon as a request arrives.
        case closeOnRequest
    }

    let port: UInt16
    private let listener: Int32
    private let mode: Mode
    private let stopping = ManagedAtomic<Bool>(false)
    private var thread: PosixThread?
    private var lock = pthread_mutex_t()
    private var clients: [Int32] = []

    init(_ mode: Mode) throws {
        self.mode = mode
        listener = try Socket.listen(on: SocketAddress(host: "127.0.0.1", port: 0), blocking: false)
        port = Socket.localPort(of: listener)
        pthread_mutex_init(&lock, nil)
        thread = try PosixThread(name: "fault-server") { [self] in serve() }
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !stopping.load(ordering: .relaxed) {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            pthread_mutex_lock(&lock)
            fds += clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            pthread_mutex_unlock(&lock)
            guard poll(&fds, nfds_t(fds.count), 50) > 0 else { continue }
            if fds[0].revents != 0 {
                let fd = cposix_accept4(listener, Int32(SOCK_CLOEXEC.rawValue))
                if fd >= 0 {
                    pthread_mutex_lock(&lock)
                    clients.append(fd)
                    pthread_mutex_unlock(&lock)
                }
            }
            for pfd in fds.dropFirst() where pfd.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { recv(pfd.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n <= 0 || mode == .closeOnRequest {
                    remove(pfd.fd)
                    continue
                }
                if mode == .garbage {
                    let junk = Array("NOT HTTP AT ALL\r\n\r\n".utf8)
                    _ = junk.withUnsafeBytes { send(pfd.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }
        }
    }

    private func remove(_ fd: Int32) {
        pthread_mutex_lock(&lock)
        clients.removeAll { $0 == fd }
        pthread_mutex_unlock(&lock)
        close(fd)
    }

    func stop() {
        stopping.store(true, ordering: .relaxed)
        thread?.join()
        pthread_mutex_lock(&lock)
        for fd in clients { close(fd) }
        clients.removeAll()
        pthread_mutex_unlock(&lock)
        close(listener)
    }
}
