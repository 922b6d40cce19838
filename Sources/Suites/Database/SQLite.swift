import CSQLite
import Posix

/// A SQLite connection through its C API (Debian's libsqlite3, linked
/// statically): what the ccore and threaded stacks and catbench's own checks
/// use. Every connection is opened by `open`, which sets the pragmas every
/// server gets (WAL, synchronous=NORMAL, a busy timeout) and registers
/// SQLite's own statement trace, so that the engine — not the server —
/// counts what ran (`SQLiteCounts`).
public final class SQLiteDB: @unchecked Sendable {
    let handle: OpaquePointer

    /// The linked library's version (`3.40.1`).
    public static var version: String { String(cString: sqlite3_libversion()) }

    /// How long a connection waits for the one writer before SQLITE_BUSY.
    public static let busyTimeoutMillis: Int32 = 5000

    /// Opens the database at `path` for reading and writing.
    public init(path: String, counted: Bool = true) throws {
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw SQLiteDBError(message: "cannot open \(path): \(message)")
        }
        handle = db
        self.counted = counted
        if counted {
            sqlite3_trace_v2(db, UInt32(SQLITE_TRACE_STMT), SQLiteCounts.trace, nil)
            SQLiteCounts.shared.opened()
        }
        // From here a failure closes the handle in deinit.
        sqlite3_busy_timeout(db, Self.busyTimeoutMillis)
        try execute("PRAGMA journal_mode=WAL")
        try execute("PRAGMA synchronous=NORMAL")
    }

    private let counted: Bool

    deinit {
        sqlite3_close_v2(handle)
        if counted { SQLiteCounts.shared.closed() }
    }

    /// Runs SQL that returns no rows we need (pragmas, BEGIN, COMMIT, a script).
    public func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteDBError(message: "\(text) (in \(sql.prefix(60)))", code: rc)
        }
    }

    /// A statement compiled once and run many times (`reset` between runs).
    public func prepare(_ sql: String) throws -> SQLitePrepared {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteDBError(message: "\(String(cString: sqlite3_errmsg(handle))) (in \(sql))", code: rc)
        }
        return SQLitePrepared(statement, connection: self)
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Rows the last INSERT, UPDATE or DELETE changed.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement. Bind, step, read columns, reset: nothing allocates
/// per run but what the caller keeps.
public final class SQLitePrepared: @unchecked Sendable {
    let raw: OpaquePointer
    private let connection: SQLiteDB

    init(_ raw: OpaquePointer, connection: SQLiteDB) {
        self.raw = raw
        self.connection = connection
    }

    deinit { sqlite3_finalize(raw) }

    @discardableResult
    public func bind(_ index: Int32, _ value: Int64) -> SQLitePrepared {
        sqlite3_bind_int64(raw, index, value)
        return self
    }

    @discardableResult
    public func bind(_ index: Int32, _ value: String) -> SQLitePrepared {
        sqlite3_bind_text(raw, index, value, -1, catbench_sqlite_transient())
        return self
    }

    /// True while a row is ready; false when the statement is done.
    public func step() throws -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc:
            let message = connection.errorMessage
            sqlite3_reset(raw)
            throw SQLiteDBError(message: message, code: rc)
        }
    }

    /// Runs a statement that returns no rows, then resets it.
    public func run() throws {
        defer { reset() }
        _ = try step()
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    public func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    public func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(raw, column) else { return "" }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// Ready for the next run; keeps the compiled program.
    public func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }
}

public struct SQLiteDBError: Error, CustomStringConvertible {
    public let message: String
    public var code: Int32 = SQLITE_ERROR
    public var description: String { "SQLite: \(message)" }
    /// The one writer was busy for longer than the busy timeout.
    public var isBusy: Bool { code & 0xff == SQLITE_BUSY }
}

/// Runs `body` inside `BEGIN IMMEDIATE … COMMIT` (rolled back when it
/// throws). IMMEDIATE takes the write lock first: a read-then-write
/// transaction that upgraded later could deadlock with another and fail at
/// once, without the busy timeout.
extension SQLiteDB {
    public func writeTransaction<T>(
        begin: SQLitePrepared, commit: SQLitePrepared, rollback: SQLitePrepared, _ body: () throws -> T
    ) throws -> T {
        try begin.run()
        do {
            let value = try body()
            try commit.run()
            return value
        } catch {
            try? rollback.run()
            throw error
        }
    }
}
