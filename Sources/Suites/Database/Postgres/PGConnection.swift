import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// A blocking PostgreSQL connection speaking the frontend/backend protocol
/// 3.0 (postgresql.org/docs/current/protocol.html): what a sync worker
/// thread holds (psycopg's shape), and catbench's own connection for seeding
/// and the ground truth.
///
/// Written here because Debian's `libpq.a` does not link into a static
/// binary on its own (it needs libpgcommon/libpgport and a GSSAPI that has
/// no static archive), and postgres-nio answers on NIO's event loops, not
/// on the calling thread: a sync worker that waits on another thread's loop
/// is not the thread-per-request design. Statements are prepared once per
/// connection (extended protocol, text format); every execution is one
/// Bind/Execute/Sync round trip.
public final class PGConnection: @unchecked Sendable {
    private let fd: Int32
    private var input: [UInt8] = []
    private var start = 0
    private var end = 0
    private var output: [UInt8] = []
    private var prepared: [String: Int] = [:]
    /// The backend's process id (BackendKeyData), which `pg_stat_activity` lists.
    public private(set) var backendPID: Int32 = 0
    /// `server_version` as the server reported it.
    public private(set) var serverVersion = ""

    public init(_ url: PostgresURL, applicationName: String = "catbench", timeoutSeconds: Double = 30) throws {
        let address: SocketAddress
        do {
            address = try SocketAddress(host: url.host, port: url.port)
        } catch { throw PGError.connection("cannot resolve \(url.host): \(error)") }
        do {
            fd = try Socket.connect(to: address, timeoutSeconds: timeoutSeconds)
        } catch { throw PGError.connection("cannot connect to PostgreSQL at \(url.redacted): \(error)") }
        input = [UInt8](repeating: 0, count: 16 * 1024)
        output.reserveCapacity(1024)
        do {
            try startUp(url, applicationName: applicationName)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit {
        // Terminate ('X'): the server ends the backend at once instead of on a read error.
        var bye: [UInt8] = [UInt8(ascii: "X"), 0, 0, 0, 4]
        _ = bye.withUnsafeMutableBytes { send(fd, $0.baseAddress, 5, Int32(MSG_NOSIGNAL)) }
        close(fd)
    }

    // MARK: Statements

    /// Prepares `sql` (`$1`… parameters) under `name` on this connection.
    public func prepare(_ name: String, _ sql: String) throws {
        output.removeAll(keepingCapacity: true)
        message("P") {
            cString(name)
            cString(sql)
            int16(0)
        }
        message("S") {}
        try flush()
        try readUntilReady()
        prepared[name] = 1
    }

    /// Runs a prepared statement with text parameters; `row` sees each row
    /// (valid only during the call). Returns the rows the command affected
    /// (from CommandComplete's tag: `UPDATE 1` gives 1).
    @discardableResult
    public func execute(_ name: String, _ parameters: [PGParameter] = [], row: ((PGRow) throws -> Void)? = nil)
        throws -> Int
    {
        output.removeAll(keepingCapacity: true)
        message("B") {
            int8(0)  // the unnamed portal
            cString(name)
            int16(0)  // every parameter in text format
            int16(Int16(parameters.count))
            for parameter in parameters {
                switch parameter {
                case .int(let n):
                    let lengthAt = output.count
                    int32(0)
                    appendDecimal(n)
                    setInt32(Int32(output.count - lengthAt - 4), at: lengthAt)
                case .text(let text):
                    int32(Int32(text.utf8.count))
                    output.append(contentsOf: text.utf8)
                case .null:
                    int32(-1)
                }
            }
            int16(0)  // every result column in text format
        }
        message("E") {
            int8(0)
            int32(0)
        }
        message("S") {}
        try flush()
        return try readUntilReady(row: row)
    }

    /// Runs `sql` (one or many statements) with the simple query protocol;
    /// `row` sees the rows of every statement. For scripts and catbench's own reads.
    @discardableResult
    public func simpleQuery(_ sql: String, row: ((PGRow) throws -> Void)? = nil) throws -> Int {
        output.removeAll(keepingCapacity: true)
        message("Q") { cString(sql) }
        try flush()
        return try readUntilReady(row: row)
    }

    /// The first column of the first row of `sql`, as text.
    public func scalar(_ sql: String) throws -> String? {
        var value: String?
        try simpleQuery(sql) { row in if value == nil { value = row.text(0) } }
        return value
    }

    // MARK: Start-up and authentication

    private func startUp(_ url: PostgresURL, applicationName: String) throws {
        output.removeAll(keepingCapacity: true)
        let lengthAt = output.count
        int32(0)
        int32(196_608)  // protocol 3.0
        for (key, value) in [("user", url.user), ("database", url.database), ("application_name", applicationName)] {
            cString(key)
            cString(value)
        }
        int8(0)
        setInt32(Int32(output.count - lengthAt), at: lengthAt)
        try flush()
        var scram: SCRAMClient?
        while true {
            let (type, body) = try readMessage()
            switch type {
            case UInt8(ascii: "R"):
                let code = readInt32(body, 0)
                switch code {
                case 0: break
                case 3:  // cleartext password
                    try sendPassword(url)
                case 5:  // MD5: "md5" + md5(md5(password + user) + salt)
                    let salt = Array(input[(body.lowerBound + 4)..<(body.lowerBound + 8)])
                    try sendPassword(url, md5Salt: salt)
                case 10:  // SASL: the mechanisms offered
                    guard let password = url.password else {
                        throw PGError.authentication("the server asks for a password")
                    }
                    let offered = String(decoding: input[(body.lowerBound + 4)..<body.upperBound], as: UTF8.self)
                    guard offered.split(separator: "\0").contains("SCRAM-SHA-256") else {
                        throw PGError.authentication("the server offers only \(offered); catbench speaks SCRAM-SHA-256")
                    }
                    let client = SCRAMClient(password: password)
                    scram = client
                    let first = Array(client.clientFirst.utf8)
                    output.removeAll(keepingCapacity: true)
                    message("p") {
                        cString("SCRAM-SHA-256")
                        int32(Int32(first.count))
                        output.append(contentsOf: first)
                    }
                    try flush()
                case 11:  // SASL continue: the server-first message
                    guard let client = scram else { throw PGError.protocolViolation("SASL continue before SASL") }
                    let final = try client.clientFinal(
                        serverFirst: String(decoding: input[(body.lowerBound + 4)..<body.upperBound], as: UTF8.self))
                    output.removeAll(keepingCapacity: true)
                    message("p") { output.append(contentsOf: final.utf8) }
                    try flush()
                case 12:  // SASL final: the server's signature
                    guard let client = scram else { throw PGError.protocolViolation("SASL final before SASL") }
                    try client.verify(
                        serverFinal: String(decoding: input[(body.lowerBound + 4)..<body.upperBound], as: UTF8.self))
                default:
                    throw PGError.authentication(
                        "the server asks for authentication method \(code), which catbench does not speak")
                }
            case UInt8(ascii: "K"):
                backendPID = readInt32(body, 0)
            case UInt8(ascii: "S"):
                let fields = input[body].split(separator: 0, omittingEmptySubsequences: false)
                if fields.count >= 2, String(decoding: fields[0], as: UTF8.self) == "server_version" {
                    serverVersion = String(decoding: fields[1], as: UTF8.self)
                }
            case UInt8(ascii: "E"):
                throw error(from: body)
            case UInt8(ascii: "Z"):
                return
            default:
                continue  // notices
            }
        }
    }

    private func sendPassword(_ url: PostgresURL, md5Salt: [UInt8]? = nil) throws {
        guard let password = url.password else { throw PGError.authentication("the server asks for a password") }
        var text = password
        if let salt = md5Salt {
            let inner = Digest.md5Hex(Array((password + url.user).utf8))
            text = "md5" + Digest.md5Hex(Array(inner.utf8) + salt)
        }
        output.removeAll(keepingCapacity: true)
        message("p") { cString(text) }
        try flush()
    }

    // MARK: Reading

    /// Reads messages until ReadyForQuery; the first error is thrown after it
    /// (the connection stays usable). Returns the rows affected by the last command.
    private func readUntilReady(row: ((PGRow) throws -> Void)? = nil) throws -> Int {
        var failure: PGError?
        var affected = 0
        while true {
            let (type, body) = try readMessage()
            switch type {
            case UInt8(ascii: "D"):
                if failure == nil, let row {
                    do { try row(PGRow(connection: self, body: body)) } catch {
                        failure = .handler("\(error)")
                    }
                }
            case UInt8(ascii: "C"):
                affected = commandCount(body)
            case UInt8(ascii: "E"):
                if failure == nil { failure = error(from: body) }
            case UInt8(ascii: "Z"):
                if let failure { throw failure }
                return affected
            default:
                continue  // ParseComplete, BindComplete, RowDescription, NoData, notices, parameter changes
            }
        }
    }

    /// One backend message: its type and the range of its body in `input`
    /// (valid until the next read).
    private func readMessage() throws -> (UInt8, Range<Int>) {
        try fill(5)
        let type = input[start]
        let length = Int(readInt32(start + 1..<start + 5, 0))
        guard length >= 4, length < 1 << 30 else { throw PGError.protocolViolation("a message of length \(length)") }
        try fill(1 + length)
        let body = (start + 5)..<(start + 1 + length)
        start += 1 + length
        return (type, body)
    }

    /// Makes at least `count` bytes readable from `start`, reading the socket as needed.
    private func fill(_ count: Int) throws {
        if end - start >= count { return }
        if start > 0 {
            input.withUnsafeMutableBytes { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
            }
            end -= start
            start = 0
        }
        if input.count < count { input.append(contentsOf: repeatElement(0, count: count - input.count + 16 * 1024)) }
        while end < count {
            let n = input.withUnsafeMutableBytes { raw in recv(fd, raw.baseAddress! + end, raw.count - end, 0) }
            if n > 0 {
                end += n
            } else if n < 0 && errno == EINTR {
                continue
            } else if n == 0 {
                throw PGError.connection("the server closed the connection")
            } else {
                throw PGError.connection("reading from the server: \(String(cString: strerror(errno)))")
            }
        }
    }

    func readInt32(_ range: Range<Int>, _ offset: Int) -> Int32 {
        let i = range.lowerBound + offset
        return Int32(
            bitPattern: UInt32(input[i]) << 24 | UInt32(input[i + 1]) << 16 | UInt32(input[i + 2]) << 8
                | UInt32(input[i + 3]))
    }

    func readInt16(_ i: Int) -> Int {
        Int(Int16(bitPattern: UInt16(input[i]) << 8 | UInt16(input[i + 1])))
    }

    func bytes(_ range: Range<Int>) -> ArraySlice<UInt8> { input[range] }

    /// The count at the end of a CommandComplete tag (`UPDATE 3`, `INSERT 0 1`, `SELECT 10`).
    private func commandCount(_ body: Range<Int>) -> Int {
        var n = 0
        var scale = 1
        var i = body.upperBound - 2  // before the NUL
        while i >= body.lowerBound, input[i] >= 48, input[i] <= 57 {
            n += Int(input[i] - 48) * scale
            scale *= 10
            i -= 1
        }
        return n
    }

    /// ErrorResponse fields: severity, SQLSTATE code and message.
    private func error(from body: Range<Int>) -> PGError {
        var code = ""
        var text = ""
        var i = body.lowerBound
        while i < body.upperBound, input[i] != 0 {
            let field = input[i]
            var j = i + 1
            while j < body.upperBound, input[j] != 0 { j += 1 }
            let value = String(decoding: input[(i + 1)..<j], as: UTF8.self)
            if field == UInt8(ascii: "C") { code = value }
            if field == UInt8(ascii: "M") { text = value }
            i = j + 1
        }
        return .server(code: code, message: text)
    }

    // MARK: Writing

    private func message(_ type: Character, _ body: () -> Void) {
        output.append(type.asciiValue!)
        let lengthAt = output.count
        int32(0)
        body()
        setInt32(Int32(output.count - lengthAt), at: lengthAt)
    }

    private func int8(_ v: UInt8) { output.append(v) }

    private func int16(_ v: Int16) {
        let u = UInt16(bitPattern: v)
        output.append(UInt8(u >> 8))
        output.append(UInt8(u & 0xff))
    }

    private func int32(_ v: Int32) {
        output.append(contentsOf: [UInt8](repeating: 0, count: 4))
        setInt32(v, at: output.count - 4)
    }

    private func setInt32(_ v: Int32, at i: Int) {
        let u = UInt32(bitPattern: v)
        output[i] = UInt8(u >> 24)
        output[i + 1] = UInt8((u >> 16) & 0xff)
        output[i + 2] = UInt8((u >> 8) & 0xff)
        output[i + 3] = UInt8(u & 0xff)
    }

    private func cString(_ s: String) {
        output.append(contentsOf: s.utf8)
        output.append(0)
    }

    private func appendDecimal(_ n: Int64) {
        if n < 0 { output.append(UInt8(ascii: "-")) }
        var magnitude = n.magnitude
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for k in stride(from: count - 1, through: 0, by: -1) { output.append(buffer[k]) }
        }
    }

    private func flush() throws {
        let sent = output.withUnsafeBytes { Socket.sendAll(fd, $0) }
        guard sent else { throw PGError.connection("the server closed the connection while catbench wrote") }
    }
}

/// A statement parameter, sent in text format.
public enum PGParameter: Sendable {
    case int(Int64)
    case text(String)
    case null
}

/// One DataRow, read in place (text format); valid only inside the row callback.
public struct PGRow {
    let connection: PGConnection
    let body: Range<Int>

    /// The byte range of column `index`, or nil for NULL.
    private func cell(_ index: Int) -> Range<Int>? {
        var i = body.lowerBound + 2
        for column in 0...index {
            let length = Int(connection.readInt32(i..<(i + 4), 0))
            i += 4
            if column == index { return length < 0 ? nil : i..<(i + length) }
            if length > 0 { i += length }
        }
        return nil
    }

    public var count: Int { connection.readInt16(body.lowerBound) }

    public func isNull(_ index: Int) -> Bool { cell(index) == nil }

    /// Column `index` as an integer (0 for NULL or text that is not a number).
    public func int(_ index: Int) -> Int64 {
        guard let range = cell(index) else { return 0 }
        var n: Int64 = 0
        var negative = false
        for byte in connection.bytes(range) {
            if byte == UInt8(ascii: "-") { negative = true; continue }
            guard byte >= 48, byte <= 57 else { break }
            n = n * 10 + Int64(byte - 48)
        }
        return negative ? -n : n
    }

    public func text(_ index: Int) -> String {
        guard let range = cell(index) else { return "" }
        return String(decoding: connection.bytes(range), as: UTF8.self)
    }
}

/// What went wrong talking to PostgreSQL.
public enum PGError: Error, CustomStringConvertible, Sendable {
    case connection(String)
    case authentication(String)
    case protocolViolation(String)
    case server(code: String, message: String)
    case handler(String)

    public var description: String {
        switch self {
        case .connection(let why): why
        case .authentication(let why): "PostgreSQL authentication: \(why)"
        case .protocolViolation(let why): "PostgreSQL protocol: \(why)"
        case .server(let code, let message): "PostgreSQL error \(code): \(message)"
        case .handler(let why): why
        }
    }

    /// SQLSTATE, for errors the server sent.
    public var code: String? {
        if case .server(let code, _) = self { return code }
        return nil
    }
}
