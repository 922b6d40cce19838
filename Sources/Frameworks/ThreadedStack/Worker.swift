import Posix
import WireFormat
#if canImport(Glibc)
    import Glibc
#endif

/// The state one worker thread keeps between connections.
struct Worker {
    let server: ThreadedServer
    let parser: RequestParser
    var dates = HTTPDate.Cache()
    var chunk = [UInt8](repeating: 0, count: 16384)
    /// A file body's block (64 KiB), made at the first file answer.
    var fileBlock: [UInt8] = []

    init(server: ThreadedServer) {
        self.server = server
        let c = server.configuration
        parser = RequestParser(
            limits: .init(maxHeadBytes: c.maxHeadBytes, maxHeaders: c.maxHeaders, maxBodyBytes: c.maxBodyBytes))
    }

    /// Serves every request the connection has sent; true when it stays open.
    mutating func serve(_ connection: Connection) -> Bool {
        Socket.setTimeouts(connection.fd, seconds: server.configuration.requestTimeoutSeconds)
        if let context = server.tlsContext {
            switch handshake(connection, context) {
            case .done: break
            case .again: return true  // parked, still on the clock started at accept
            case .failed: return false
            }
        }
        var requestStart = connection.requestStartedAt ?? Clock.monotonicNanos()
        let timeout = UInt64(server.configuration.requestTimeoutSeconds * 1e9)
        var mustRead = true
        // The first read has data waiting (the poller said so). Later reads of an
        // unfinished request do not wait: when nothing more is there, the
        // connection is parked with the poller and the worker serves others, so
        // a client sending a byte a second holds no thread (slowloris). Over TLS
        // no read waits: a readable socket may hold only part of a record.
        var waitForData = connection.tls == nil
        while !server.isStopping {
            if mustRead {
                switch read(connection, wait: waitForData) {
                case .bytes:
                    break
                case .wouldBlock where !waitForData:
                    // A request that has begun keeps its clock; otherwise the connection is idle.
                    let begun = !connection.buffer.isEmpty || connection.tls?.hasPartialRecord == true
                    connection.requestStartedAt = begun ? requestStart : nil
                    return true
                case .wouldBlock:
                    if !connection.buffer.isEmpty { write(connection, errorStatus: 408, method: "GET") }
                    return false
                case .closed:
                    return false
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
                // Parked; the server serves it again at once if OpenSSL holds its next bytes.
                if connection.buffer.isEmpty { return true }
                requestStart = Clock.monotonicNanos()
            }
        }
        return false
    }

    private enum ReadOutcome {
        case bytes
        case wouldBlock
        case closed
    }

    /// Appends what one read gives to the connection's buffer.
    private mutating func read(_ connection: Connection, wait: Bool) -> ReadOutcome {
        if let tls = connection.tls {
            let count = min(chunk.count, server.configuration.tlsReadBytes)
            switch chunk.withUnsafeMutableBytes({ tls.read(into: $0.baseAddress!, count: count) }) {
            case .bytes(let n):
                connection.buffer.append(contentsOf: chunk[0..<n])
                return .bytes
            case .again:
                return .wouldBlock
            case .closed:
                return .closed
            }
        }
        let flags = wait ? Int32(0) : Int32(MSG_DONTWAIT)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, flags) }
            if n > 0 {
                connection.buffer.append(contentsOf: chunk[0..<n])
                return .bytes
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .wouldBlock }
            return .closed  // closed or reset
        }
    }

    /// Makes the connection's TLS session on first use and advances its handshake.
    private func handshake(_ connection: Connection, _ context: TLSContext) -> TLSSession.Progress {
        let session: TLSSession
        if let existing = connection.tls {
            session = existing
        } else {
            guard let made = TLSSession(context: context, fd: connection.fd) else { return .failed }
            connection.tls = made
            session = made
        }
        if session.isEstablished { return .done }
        let progress = session.handshake()
        // The first request's clock starts now, not at accept.
        if case .done = progress { connection.requestStartedAt = nil }
        return progress
    }

    private mutating func respond(to parsed: RequestParser.ParsedRequest, on connection: Connection) -> Bool {
        let target = parsed.target
        let question = target.firstIndex(of: "?")
        let path = question.map { String(target[..<$0]) } ?? target
        let query = question.map { String(target[target.index(after: $0)...]) } ?? ""
        var request = Request(
            method: parsed.method, path: path, queryString: query, headers: parsed.headers, body: parsed.body,
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
        return write(
            connection, response, method: parsed.method, keepAlive: parsed.keepAlive, versionMinor: parsed.versionMinor)
    }

    private mutating func write(_ connection: Connection, errorStatus: Int, method: String) {
        _ = write(connection, HTTPError(errorStatus).response, method: method, keepAlive: false, versionMinor: 1)
        connection.tls?.closeNotify()
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
    private mutating func write(
        _ connection: Connection, _ response: Response, method: String, keepAlive: Bool, versionMinor: Int
    ) -> Bool {
        var head = "HTTP/1.1 \(response.status) \(HTTPStatus.reason(response.status))\r\n"
        head += "Server: \(server.configuration.serverName)\r\nDate: \(dates.current())\r\n"
        if let contentType = response.contentType { head += "Content-Type: \(contentType)\r\n" }
        // RFC 9110 §8.6: no Content-Length on 204 and 304.
        if response.status != 204 && response.status != 304 {
            head += "Content-Length: \(response.declaredLength ?? response.body.count)\r\n"
        }
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
        let sent = bytes.withUnsafeBytes { raw in
            if let tls = connection.tls { return tls.write(raw) }
            return Socket.sendAll(connection.fd, raw)
        }
        guard let file = response.file else { return sent }
        defer { file.close() }
        return sent && method != "HEAD" && sendFile(file, on: connection)
    }

    /// A file body as a WSGI file wrapper writes it: blocking reads of a
    /// block, each written out before the next.
    private mutating func sendFile(_ file: StaticFiles.Body, on connection: Connection) -> Bool {
        var offset = file.offset
        var left = file.length
        if fileBlock.isEmpty { fileBlock = [UInt8](repeating: 0, count: 64 << 10) }
        while left > 0 {
            let n = fileBlock.withUnsafeMutableBytes {
                pread(file.fd, $0.baseAddress, min($0.count, left), off_t(offset))
            }
            guard n > 0 else { return false }  // the file shrank: the framing is lost, the connection ends
            let ok = fileBlock.withUnsafeBytes { raw in
                let block = UnsafeRawBufferPointer(rebasing: raw[..<n])
                if let tls = connection.tls { return tls.write(block) }
                return Socket.sendAll(connection.fd, block)
            }
            guard ok else { return false }
            offset += n
            left -= n
        }
        return true
    }
}
