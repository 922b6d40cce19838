import Atomics
import Posix
import WireFormat
#if canImport(Glibc)
    import Glibc
#endif

/// The sync thread-per-request design (Flask or Django under a threaded WSGI
/// server such as gunicorn's gthread worker): one acceptor thread watches the
/// listener and the idle keep-alive connections; when a connection has bytes,
/// it is handed to a worker thread, which reads the request with blocking
/// calls, runs the handler, writes the answer, and gives the connection back.
///
/// With `Configuration.tls` the listener speaks TLS only, as gunicorn's sync
/// workers do with `--certfile`/`--keyfile`: a worker does the handshake, on
/// the same terms as a request (it never waits for a client's bytes; a
/// handshake still unfinished at the request timeout is closed).
public final class ThreadedServer: @unchecked Sendable {
    public let configuration: Configuration
    /// The port the server listens on (the chosen one when configured with 0).
    public let port: UInt16
    private let app: ThreadedApp
    /// Set when the listener speaks TLS.
    let tlsContext: TLSContext?
    private let listener: Int32
    private let epoll: Int32
    private let wakeup: Int32
    private let queue = WorkQueue()
    private var threads: [PosixThread] = []
    private let stopping = ManagedAtomic<Bool>(false)
    private let served = ManagedAtomic<UInt64>(0)
    let runtime: ThreadedRuntime

    private var lock = pthread_mutex_t()
    private var connections: [Int32: Connection] = [:]
    private var idle: [Int32: Connection] = [:]
    private var acceptorTask: (@Sendable () -> Void)?
    private var acceptorTaskDone = true
    private var acceptorCondition = pthread_cond_t()

    private static let wakeupToken: UInt64 = .max

    /// Binds and starts serving `app` at once.
    public init(app: ThreadedApp, configuration: Configuration = Configuration()) throws {
        precondition(configuration.workers >= 1, "at least one worker")
        // First, so that a wrong certificate or key fails before any thread starts.
        tlsContext = try configuration.tls.map(TLSContext.init)
        self.app = app
        self.configuration = configuration
        runtime = ThreadedRuntime(
            bridge: try ThreadExecutor(name: "threaded-async", onThreadStart: configuration.onThreadStart),
            injector: app.injector)
        app.freeze()
        let address = try SocketAddress(host: configuration.host, port: configuration.port)
        listener = try Socket.listen(on: address, blocking: false)
        port = Socket.localPort(of: listener)
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeup = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&acceptorCondition, nil)
        register(listener, events: EPOLLIN.rawValue, token: UInt64(UInt32(bitPattern: listener)) | 1 << 40)
        register(wakeup, events: EPOLLIN.rawValue, token: Self.wakeupToken)

        threads.append(
            try PosixThread(name: "threaded-accept") { [self] in
                configuration.onThreadStart?()
                acceptLoop()
            })
        for i in 0..<configuration.workers {
            threads.append(
                try PosixThread(name: "threaded-w\(i)") { [self] in
                    configuration.onThreadStart?()
                    workerLoop()
                })
        }
    }

    deinit {
        pthread_mutex_destroy(&lock)
        pthread_cond_destroy(&acceptorCondition)
    }

    /// Whether the listener speaks TLS (clients must use https).
    public var servesTLS: Bool { tlsContext != nil }

    /// Answers written so far, every status included.
    public var requestsServed: UInt64 { served.load(ordering: .relaxed) }

    /// Runs `task` on the acceptor and on every worker thread, and returns when all have.
    public func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&lock)
        acceptorTask = task
        acceptorTaskDone = false
        pthread_mutex_unlock(&lock)
        var one: UInt64 = 1
        _ = Glibc.write(wakeup, &one, 8)
        queue.runOnEveryWorker(workers: configuration.workers, task)
        runtime.bridge.runBlocking { task() }
        pthread_mutex_lock(&lock)
        while !acceptorTaskDone && !stopping.load(ordering: .relaxed) {
            pthread_cond_wait(&acceptorCondition, &lock)
        }
        pthread_mutex_unlock(&lock)
    }

    /// Stops accepting, ends every connection and joins the threads.
    public func stop() {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var one: UInt64 = 1
        _ = Glibc.write(wakeup, &one, 8)
        // Connections nobody took are still in `connections`, and closed once below.
        _ = queue.stop()
        pthread_mutex_lock(&lock)
        // Workers blocked in recv on a connection return once it is shut down.
        for fd in connections.keys { shutdown(fd, Int32(SHUT_RDWR)) }
        pthread_cond_broadcast(&acceptorCondition)
        pthread_mutex_unlock(&lock)
        for thread in threads { thread.join() }
        pthread_mutex_lock(&lock)
        for fd in connections.keys { close(fd) }
        connections.removeAll()
        idle.removeAll()
        pthread_mutex_unlock(&lock)
        close(listener)
        close(epoll)
        close(wakeup)
        runtime.bridge.stop()
    }

    // MARK: acceptor

    private func register(_ fd: Int32, events: UInt32, token: UInt64, modify: Bool = false) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = token
        epoll_ctl(epoll, modify ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &event)
    }

    private func acceptLoop() {
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        var lastSweep = Clock.monotonicNanos()
        while !stopping.load(ordering: .relaxed) {
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epoll, $0.baseAddress, Int32($0.count), 250) }
            for i in 0..<max(0, Int(n)) {
                let token = events[i].data.u64
                if token == Self.wakeupToken {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeup, &value, 8)
                    runAcceptorTask()
                } else if token >> 40 == 1 {
                    acceptAll()
                } else {
                    let fd = Int32(bitPattern: UInt32(truncatingIfNeeded: token))
                    pthread_mutex_lock(&lock)
                    let connection = idle.removeValue(forKey: fd)
                    pthread_mutex_unlock(&lock)
                    if let connection { queue.push(connection) }
                }
            }
            let now = Clock.monotonicNanos()
            if now - lastSweep > 500_000_000 {
                lastSweep = now
                closeExpiredIdleConnections(now: now)
            }
        }
    }

    private func runAcceptorTask() {
        pthread_mutex_lock(&lock)
        let task = acceptorTask
        acceptorTask = nil
        pthread_mutex_unlock(&lock)
        guard let task else { return }
        task()
        pthread_mutex_lock(&lock)
        acceptorTaskDone = true
        pthread_cond_broadcast(&acceptorCondition)
        pthread_mutex_unlock(&lock)
    }

    private func acceptAll() {
        while true {
            let fd = cposix_accept4(listener, Int32(SOCK_CLOEXEC.rawValue))
            if fd < 0 {
                if errno == EINTR { continue }
                return  // EAGAIN: drained (the listener is non-blocking; connections are not)
            }
            pthread_mutex_lock(&lock)
            let full = connections.count >= configuration.maxConnections
            pthread_mutex_unlock(&lock)
            if full {
                close(fd)
                continue
            }
            Socket.setNoDelay(fd)
            let connection = Connection(fd: fd, now: Clock.monotonicNanos())
            // A TLS client owes its handshake within the request timeout, as a request's head.
            if tlsContext != nil { connection.requestStartedAt = connection.idleSince }
            pthread_mutex_lock(&lock)
            connections[fd] = connection
            idle[fd] = connection
            pthread_mutex_unlock(&lock)
            register(
                fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue,
                token: UInt64(UInt32(bitPattern: fd)))
        }
    }

    private func closeExpiredIdleConnections(now: UInt64) {
        let limit = UInt64(configuration.keepAliveTimeoutSeconds * 1e9)
        let requestLimit = UInt64(configuration.requestTimeoutSeconds * 1e9)
        pthread_mutex_lock(&lock)
        // Idle too long, or parked with a request that did not arrive in time (a slow client: 408, then closed).
        let expired = idle.values.filter { connection in
            // Saturating: a worker may stamp a connection after `now` was read (a plain
            // subtraction trapped on that race and took the server down under load).
            if let started = connection.requestStartedAt { return now.subtractingSaturated(started) > requestLimit }
            return now.subtractingSaturated(connection.idleSince) > limit
        }
        for connection in expired {
            // Parked, so the acceptor owns the connection (and its TLS session) now.
            answerTimeout(connection)
            idle.removeValue(forKey: connection.fd)
            connections.removeValue(forKey: connection.fd)
            epoll_ctl(epoll, EPOLL_CTL_DEL, connection.fd, nil)
            close(connection.fd)
        }
        pthread_mutex_unlock(&lock)
    }

    /// The last words to a parked connection the sweeper closes, never blocking: a 408
    /// when a request had begun, and over TLS close_notify (not to a handshake that
    /// never finished: there is no session to speak in).
    private func answerTimeout(_ connection: Connection) {
        let started = connection.requestStartedAt != nil
        let answer =
            "HTTP/1.1 408 Request Timeout\r\nServer: \(configuration.serverName)\r\nConnection: close\r\n"
            + "Content-Length: 0\r\n\r\n"
        if let tls = connection.tls {
            if started && tls.isEstablished { _ = Array(answer.utf8).withUnsafeBytes { tls.write($0, wait: false) } }
            tls.closeNotify()
        } else if started && tlsContext == nil {
            _ = Array(answer.utf8).withUnsafeBytes {
                send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL))
            }
        }
    }

    /// A worker is done with the connection for now: watch it for the next request.
    private func giveBack(_ connection: Connection) {
        connection.idleSince = Clock.monotonicNanos()
        // Bytes OpenSSL has already decrypted (the rest of a record a read took only
        // part of) will never make the socket readable: waiting on the poller would
        // leave that request unanswered. Serve it as if the poller had said so.
        if let tls = connection.tls, tls.hasDecryptedBytes {
            queue.push(connection)
            return
        }
        pthread_mutex_lock(&lock)
        idle[connection.fd] = connection
        pthread_mutex_unlock(&lock)
        register(
            connection.fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue,
            token: UInt64(UInt32(bitPattern: connection.fd)), modify: true)
    }

    private func finish(_ connection: Connection) {
        connection.tls?.closeNotify()
        pthread_mutex_lock(&lock)
        connections.removeValue(forKey: connection.fd)
        idle.removeValue(forKey: connection.fd)
        epoll_ctl(epoll, EPOLL_CTL_DEL, connection.fd, nil)
        close(connection.fd)
        pthread_mutex_unlock(&lock)
    }

    // MARK: workers

    private func workerLoop() {
        var seen = 0
        var worker = Worker(server: self)
        while true {
            switch queue.next(seen: &seen) {
            case .stop:
                return
            case .run(let task):
                task()
                queue.finishedBroadcast()
            case .serve(let connection):
                if worker.serve(connection) {
                    giveBack(connection)
                } else {
                    finish(connection)
                }
            }
        }
    }

    var router: Router { app.router }
    func countAnswer() { served.wrappingIncrement(ordering: .relaxed) }
    var isStopping: Bool { stopping.load(ordering: .relaxed) }
}

extension UInt64 {
    /// self − other, or 0 when other is later.
    fileprivate func subtractingSaturated(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
