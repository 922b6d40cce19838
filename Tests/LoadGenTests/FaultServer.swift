import Atomics
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// A TCP server that misbehaves on purpose, to see the load generator count
/// each fault by kind and still end on time.
final class FaultServer: @unchecked Sendable {
    enum Mode: Sendable, Equatable {
        /// Answers every request with bytes that are not HTTP.
        case garbage
        /// Reads requests and never answers.
        case stall
        /// Closes every connection as soon as a request arrives.
        case closeOnRequest
        /// Resets every connection (RST, SO_LINGER 0) as soon as a request arrives.
        case resetOnRequest
        /// Answers every request at once with 200 "ok", except that once,
        /// `after` seconds after the first request, it stops answering for `pause` seconds.
        case stallOnce(after: Double, pause: Double)
        /// Answers every request with 200 "ok", each `seconds` after it arrived, in order.
        case delay(seconds: Double)
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
        var firstRequestAt: UInt64 = 0
        var stalled = false
        var partial: [Int32: Int] = [:]
        // Answers owed in `.delay` mode, by when: (due, connection, count).
        var owed: [(due: UInt64, fd: Int32, count: Int)] = []
        let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8)
        while !stopping.load(ordering: .relaxed) {
            let now = Clock.monotonicNanos()
            while let first = owed.first, first.due <= now {
                owed.removeFirst()
                let bytes = Array(repeating: answer, count: first.count).flatMap { $0 }
                _ = bytes.withUnsafeBytes { send(first.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            }
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            pthread_mutex_lock(&lock)
            fds += clients.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            pthread_mutex_unlock(&lock)
            let wait = owed.first.map { Int32(min(50, ($0.due - min($0.due, now)) / 1_000_000 + 1)) } ?? 50
            guard poll(&fds, nfds_t(fds.count), wait) > 0 else { continue }
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
                if n > 0, mode == .resetOnRequest {
                    var linger = linger(l_onoff: 1, l_linger: 0)
                    setsockopt(pfd.fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
                }
                if n <= 0 || mode == .closeOnRequest || mode == .resetOnRequest {
                    remove(pfd.fd)
                    continue
                }
                switch mode {
                case .garbage:
                    let junk = Array("NOT HTTP AT ALL\r\n\r\n".utf8)
                    _ = junk.withUnsafeBytes { send(pfd.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                case .stallOnce(let after, let pause):
                    let now = Clock.monotonicNanos()
                    if firstRequestAt == 0 { firstRequestAt = now }
                    if !stalled && Double(now - firstRequestAt) / 1e9 >= after {
                        stalled = true
                        Clock.sleep(seconds: pause)
                    }
                    let heads = Self.countHeads(buffer[0..<n], partial: &partial[pfd.fd, default: 0])
                    let bytes = Array(repeating: answer, count: heads).flatMap { $0 }
                    _ = bytes.withUnsafeBytes { send(pfd.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                case .delay(let seconds):
                    let heads = Self.countHeads(buffer[0..<n], partial: &partial[pfd.fd, default: 0])
                    if heads > 0 { owed.append((Clock.monotonicNanos() + UInt64(seconds * 1e9), pfd.fd, heads)) }
                default:
                    break
                }
            }
        }
    }

    /// Complete request heads (GETs without bodies) in `bytes`; `partial` carries a head split between reads.
    private static func countHeads(_ bytes: ArraySlice<UInt8>, partial matched: inout Int) -> Int {
        let want: [UInt8] = [13, 10, 13, 10]
        var heads = 0
        for b in bytes {
            if b == want[matched] { matched += 1 } else { matched = b == 13 ? 1 : 0 }
            if matched == 4 {
                heads += 1
                matched = 0
            }
        }
        return heads
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
