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
public final class ThreadedServer: @unchecked Sendable {
    public let configuration: Configuration
    /// The port the server listens on (the chosen one when configured with 0).
    public let port: UInt16
    private let app: ThreadedApp
    private let listener: Int32
    private let epoll: Int32
    private let wakeup: Int32
    private let queue = WorkQueue()
    private var threads: [PosixThread] = []
    private let stopping = ManagedAtomic<Bool>(false)
    private let served = ManagedAtomic<UInt64>(0)
    fileprivate let runtime: ThreadedRuntime

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
        self.app = app
        self.configuration = configuration
        runtime = ThreadedRuntime(bridge: try ThreadExecutor(name: "threaded-async", onThreadStart: configuration.onThreadStart),
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

        threads.append(try PosixThread(name: "threaded-accept") { [self] in
            configuration.onThreadStart?()
            acceptLoop()
        })
        for i in 0..<configuration.workers {
            threads.append(try PosixThread(name: "threaded-w\(i)") { [self] in
                configuration.onThreadStart?()
                workerLoop()
            })
        }
    }

    deinit {
        pthread_mutex_destroy(&lock)
        pthread_cond_destroy(&acceptorCondition)
    }

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
        for connection in queue.stop() { close(connection.fd) }
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
            pthread_mutex_lock(&lock)
            connections[fd] = connection
            idle[fd] = connection
            pthread_mutex_unlock(&lock)
            register(fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue, token: UInt64(UInt32(bitPattern: fd)))
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
            if connection.requestStartedAt != nil {
                let answer = Array("HTTP/1.1 408 Request Timeout\r\nServer: \(configuration.serverName)\r\nConnection: close\r\nContent-Length: 0\r\n\r\n".utf8)
                _ = answer.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            }
            idle.removeValue(forKey: connection.fd)
            connections.removeValue(forKey: connection.fd)
            epoll_ctl(epoll, EPOLL_CTL_DEL, connection.fd, nil)
            close(connection.fd)
        }
        pthread_mutex_unlock(&lock)
    }

    /// A worker is done with the connection for now: watch it for the next request.
    private func giveBack(_ connection: Connection) {
        connection.idleSince = Clock.monotonicNanos()
        pthread_mutex_lock(&lock)
        idle[connection.fd] = connection
        pthread_mutex_unlock(&lock)
        register(connection.fd, events: EPOLLIN.rawValue | EPOLLONESHOT.rawValue | EPOLLRDHUP.rawValue,
                 token: UInt64(UInt32(bitPattern: connection.fd)), modify: true)
    }

    private func finish(_ connection: Connection) {
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

    fileprivate var router: Router { app.router }
    fileprivate func countAnswer() { served.wrappingIncrement(ordering: .relaxed) }
    fileprivate var isStopping: Bool { stopping.load(ordering: .relaxed) }
}

/// The state one worker thread keeps between connections.
private struct Worker {
    let server: ThreadedServer
    let parser: RequestParser
    var dates = HTTPDate.Cache()
    var chunk = [UInt8](repeating: 0, count: 16384)

    init(server: ThreadedServer) {
        self.server = server
        let c = server.configuration
        parser = RequestParser(limits: .init(maxHeadBytes: c.maxHeadBytes, maxHeaders: c.maxHeaders, maxBodyBytes: c.maxBodyBytes))
    }

    /// Serves every request the connection has sent; true when it stays open.
    mutating func serve(_ connection: Connection) -> Bool {
        var requestStart = connection.requestStartedAt ?? Clock.monotonicNanos()
        let timeout = UInt64(server.configuration.requestTimeoutSeconds * 1e9)
        Socket.setTimeouts(connection.fd, seconds: server.configuration.requestTimeoutSeconds)
        var mustRead = true
        // The first read has data waiting (the poller said so). Later reads of an
        // unfinished request do not wait: when nothing more is there, the
        // connection is parked with the poller and the worker serves others, so
        // a client sending a byte a second holds no thread (slowloris).
        var waitForData = true
        while !server.isStopping {
            if mustRead {
                let flags = waitForData ? Int32(0) : Int32(MSG_DONTWAIT)
                let n = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, flags) }
                if n > 0 {
                    connection.buffer.append(contentsOf: chunk[0..<n])
                } else if n < 0 && errno == EINTR {
                    continue
                } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                    if !waitForData {
                        connection.requestStartedAt = requestStart
                        return true
                    }
                    if !connection.buffer.isEmpty { write(connection, errorStatus: 408, method: "GET") }
                    return false
                } else {
                    return false  // closed or reset
                }
                mustRead = false
                waitForData = false
            }
            switch parser.parse(connection.buffer) {
            case .incomplete:
                if Clock.monotonicNanos() - requestStart > timeout {
                    write(connection, errorStatus: 408, method: "GET")
                    return false
                }
                mustRead = true
            case .error(let status):
                write(connection, errorStatus: status, method: "GET")
                return false
            case .request(let parsed, let consumed):
                connection.requestStartedAt = nil
                connection.buffer.removeFirst(consumed)
                guard respond(to: parsed, on: connection) else { return false }
                if !parsed.keepAlive { return false }
                if connection.buffer.isEmpty { return true }
                requestStart = Clock.monotonicNanos()
            }
        }
        return false
    }

    private mutating func respond(to parsed: RequestParser.ParsedRequest, on connection: Connection) -> Bool {
        let target = parsed.target
        let question = target.firstIndex(of: "?")
        let path = question.map { String(target[..<$0]) } ?? target
        let query = question.map { String(target[target.index(after: $0)...]) } ?? ""
        var request = Request(method: parsed.method, path: path, queryString: query, headers: parsed.headers, body: parsed.body,
                              runtime: server.runtime, startedAt: Clock.monotonicNanos())
        let response: Response
        switch server.router.match(method: parsed.method, path: path) {
        case .found(let handler, let params):
            request.pathParameters = params
            do {
                response = try handler(request)
            } catch let error as HTTPError {
                response = error.response
            } catch {
                response = HTTPError(500, "internal error").response
            }
            request.injectorBox.injector?.close()
        case .methodNotAllowed(let allowed):
            var r = HTTPError(405).response
            r.headers.append(("Allow", allowed.sorted().joined(separator: ", ")))
            response = r
        case .notFound:
            response = HTTPError(404).response
        }
        return write(connection, response, method: parsed.method, keepAlive: parsed.keepAlive, versionMinor: parsed.versionMinor)
    }

    private mutating func write(_ connection: Connection, errorStatus: Int, method: String) {
        _ = write(connection, HTTPError(errorStatus).response, method: method, keepAlive: false, versionMinor: 1)
        // The client may still be sending (a body over the limit): close our side
        // and drain a little, so it reads the answer instead of a reset.
        shutdown(connection.fd, Int32(SHUT_WR))
        Socket.setTimeouts(connection.fd, seconds: 0.2)
        var drained = 0
        while drained < 4 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            drained += n
        }
    }

    @discardableResult
    private mutating func write(_ connection: Connection, _ response: Response, method: String, keepAlive: Bool, versionMinor: Int) -> Bool {
        var head = "HTTP/1.1 \(response.status) \(HTTPStatus.reason(response.status))\r\n"
        head += "Server: \(server.configuration.serverName)\r\nDate: \(dates.current())\r\n"
        if let contentType = response.contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(response.body.count)\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        if !keepAlive {
            head += "Connection: close\r\n"
        } else if versionMinor == 0 {
            head += "Connection: keep-alive\r\n"
        }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if method != "HEAD" { bytes.append(contentsOf: response.body) }
        // Counted before it is sent: once the client has the answer, the count
        // must already include it (a harness reads both right after the load).
        server.countAnswer()
        return bytes.withUnsafeBytes { Socket.sendAll(connection.fd, $0) }
    }
}

extension UInt64 {
    /// self − other, or 0 when other is later.
    fileprivate func subtractingSaturated(_ other: UInt64) -> UInt64 { self > other ? self - other : 0 }
}
