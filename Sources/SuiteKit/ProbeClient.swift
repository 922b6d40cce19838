import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// A small blocking HTTP/1.1 client for verification: one request at a time on
/// a keep-alive connection, every byte of the answer read and parsed strictly.
/// Not for load; the load generator has its own hot path.
public final class ProbeClient {
    public struct ProbeError: Error, CustomStringConvertible {
        public let description: String
    }

    public let address: SocketAddress
    public let timeoutSeconds: Double
    private var fd: Int32 = -1
    private var buffer: [UInt8] = []

    public init(address: SocketAddress, timeoutSeconds: Double = 5) {
        self.address = address
        self.timeoutSeconds = timeoutSeconds
    }

    deinit { disconnect() }

    public func disconnect() {
        if fd >= 0 { close(fd) }
        fd = -1
        buffer.removeAll()
    }

    /// Sends `request` and reads its answer.
    public func send(_ request: RequestSpec) throws -> HTTPResponse {
        var response = try sendRaw(request.encoded(host: address.description), method: request.method)
        if request.expectation.watchForStrayBytes && response.strayBytes == 0 {
            response.strayBytes = strayBytes(waitingMillis: 100)
            if response.strayBytes > 0 { disconnect() }
        }
        return response
    }

    /// Sends raw bytes (which may be malformed on purpose) and reads one answer.
    public func sendRaw(_ bytes: [UInt8], method: String = "GET") throws -> HTTPResponse {
        if fd < 0 { fd = try Socket.connect(to: address, timeoutSeconds: timeoutSeconds) }
        guard bytes.withUnsafeBytes({ Socket.sendAll(fd, $0) }) else {
            // A server may answer early (413) and stop reading: its answer is still there to read.
            if let early = try? readResponse(method: method) { return early }
            disconnect()
            throw ProbeError(description: "could not send the request to \(address) (connection closed)")
        }
        return try readResponse(method: method)
    }

    /// Reads one answer from the connection (for pipelined requests sent with `write`).
    public func readResponse(method: String = "GET") throws -> HTTPResponse {
        let headEnd = try readUntilHeadEnd()
        let head = String(decoding: buffer[0..<headEnd], as: UTF8.self)
        buffer.removeFirst(headEnd + 4)
        var lines = head.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]), (100...999).contains(status)
        else {
            disconnect()
            throw ProbeError(description: "malformed status line: \(statusLine.prefix(80))")
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else {
                disconnect()
                throw ProbeError(description: "malformed header line: \(line.prefix(80))")
            }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: " \t")
            headers.append((name, value))
        }
        let response = HTTPResponse(status: status, headers: headers, body: [])
        if status == 100 { return try readResponse(method: method) }
        var body: [UInt8] = []
        var stray = 0
        let noBody = method == "HEAD" || status == 204 || status == 304 || (100...199).contains(status)
        if noBody {
            // A body sent anyway would be read as the next answer: look for one already there.
            stray = strayBytes(waitingMillis: 0)
        } else if response.header("Transfer-Encoding")?.lowercased().contains("chunked") == true {
            body = try readChunkedBody()
        } else if let lengthText = response.header("Content-Length") {
            guard let length = Int(lengthText), length >= 0 else {
                disconnect()
                throw ProbeError(description: "invalid Content-Length: \(lengthText)")
            }
            try fill(atLeast: length)
            body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else {
            body = try readUntilClose()
        }
        if response.header("Connection")?.lowercased().contains("close") == true || stray > 0 {
            disconnect()
        }
        return HTTPResponse(status: status, headers: headers, body: body, strayBytes: stray)
    }

    /// Bytes already buffered or arriving within `waitingMillis` (none expected).
    private func strayBytes(waitingMillis: Int32) -> Int {
        if !buffer.isEmpty { return buffer.count }
        guard fd >= 0 else { return 0 }
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, waitingMillis) > 0 else { return 0 }
        var scratch = [UInt8](repeating: 0, count: 65536)
        let n = scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return max(0, n)
    }

    /// Writes bytes without reading (to pipeline several requests).
    public func write(_ bytes: [UInt8]) throws {
        if fd < 0 { fd = try Socket.connect(to: address, timeoutSeconds: timeoutSeconds) }
        guard bytes.withUnsafeBytes({ Socket.sendAll(fd, $0) }) else {
            throw ProbeError(description: "could not send to \(address)")
        }
    }

    /// True when the server has closed the connection (reads end of stream).
    public func serverClosedConnection() -> Bool {
        guard fd >= 0 else { return true }
        if !buffer.isEmpty { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, 0)
        if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            disconnect()
            return true
        }
        if n == 1 { buffer.append(byte) }
        return false
    }

    private func readMore() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                buffer.append(contentsOf: chunk[0..<n])
                return true
            }
            if n == 0 { return false }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                disconnect()
                throw ProbeError(description: "no answer from \(address) within \(timeoutSeconds) s")
            }
            let error = PosixError("recv")
            disconnect()
            throw ProbeError(description: "reading from \(address): \(error)")
        }
    }

    private func readUntilHeadEnd() throws -> Int {
        var searchFrom = 0
        while true {
            if buffer.count >= 4 {
                var i = max(0, searchFrom - 3)
                while i + 3 < buffer.count {
                    if buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
                    i += 1
                }
                searchFrom = buffer.count
            }
            if buffer.count > 1 << 20 {
                disconnect()
                throw ProbeError(description: "response head larger than 1 MiB")
            }
            guard try readMore() else {
                disconnect()
                throw ProbeError(description: "connection closed by \(address) before a complete response head")
            }
        }
    }

    private func fill(atLeast count: Int) throws {
        while buffer.count < count {
            guard try readMore() else {
                disconnect()
                throw ProbeError(description: "connection closed by \(address) in the middle of a body")
            }
        }
    }

    private func readLine() throws -> String {
        while true {
            if let nl = buffer.firstIndex(of: 10), nl > 0, buffer[nl - 1] == 13 {
                let line = String(decoding: buffer[0..<(nl - 1)], as: UTF8.self)
                buffer.removeFirst(nl + 1)
                return line
            }
            guard try readMore() else {
                disconnect()
                throw ProbeError(description: "connection closed in a chunked body")
            }
        }
    }

    private func readChunkedBody() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            let sizeLine = try readLine()
            let sizeText = sizeLine.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: " \t"), radix: 16), size >= 0 else {
                disconnect()
                throw ProbeError(description: "invalid chunk size line: \(sizeLine.prefix(40))")
            }
            if size == 0 {
                while try !readLine().isEmpty {}  // trailer fields
                return body
            }
            try fill(atLeast: size + 2)
            body.append(contentsOf: buffer[0..<size])
            buffer.removeFirst(size + 2)
        }
    }

    private func readUntilClose() throws -> [UInt8] {
        while try readMore() {}
        let body = buffer
        disconnect()
        return body
    }
}
