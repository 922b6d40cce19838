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
