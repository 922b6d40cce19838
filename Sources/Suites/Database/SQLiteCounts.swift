import Atomics
import CSQLite

/// What SQLite itself ran in this process, counted by the engine's own
/// statement trace (`sqlite3_trace_v2`) on every connection the embedded
/// servers open (`SQLiteDB` registers it; no stack opens one otherwise).
/// The verifier reads
/// these around a burst of requests: queries per request come from the
/// database engine, not from what a handler says it did. A server in another
/// process (a peer) is not seen here; `inProcessConnections` tells.
public final class SQLiteCounts: Sendable {
    public static let shared = SQLiteCounts()

    private let selects = ManagedAtomic<UInt64>(0)
    private let writes = ManagedAtomic<UInt64>(0)
    private let open = ManagedAtomic<Int>(0)
    private let opens = ManagedAtomic<UInt64>(0)

    public struct Reading: Sendable, Equatable {
        public var selects: UInt64
        public var writes: UInt64

        public init(selects: UInt64, writes: UInt64) {
            self.selects = selects
            self.writes = writes
        }

        public static func - (a: Reading, b: Reading) -> Reading {
            Reading(selects: a.selects &- b.selects, writes: a.writes &- b.writes)
        }
    }

    public func read() -> Reading {
        Reading(
            selects: selects.load(ordering: .relaxed), writes: writes.load(ordering: .relaxed))
    }

    /// Counted connections open in this process now (an embedded server's).
    public var inProcessConnections: Int { open.load(ordering: .relaxed) }

    /// Counted connections ever opened in this process.
    public var connectionsOpened: UInt64 { opens.load(ordering: .relaxed) }

    func opened() {
        open.wrappingIncrement(ordering: .relaxed)
        opens.wrappingIncrement(ordering: .relaxed)
    }
    func closed() { open.wrappingDecrement(ordering: .relaxed) }

    /// One statement begun, classified by its first keyword (BEGIN, COMMIT
    /// and pragmas are not queries).
    func statement(firstByte: UInt8) {
        switch firstByte | 0x20 {
        case UInt8(ascii: "s"), UInt8(ascii: "w"): selects.wrappingIncrement(ordering: .relaxed)
        case UInt8(ascii: "u"), UInt8(ascii: "i"), UInt8(ascii: "d"), UInt8(ascii: "r"):
            // UPDATE, INSERT, DELETE, REPLACE
            writes.wrappingIncrement(ordering: .relaxed)
        default: break
        }
    }

    /// The `sqlite3_trace_v2` callback: a statement starting.
    static let trace:
        @convention(c) (UInt32, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?)
            -> Int32 = { kind, _, statement, _ in
                if kind == UInt32(SQLITE_TRACE_STMT), let statement,
                    let sql = sqlite3_sql(OpaquePointer(statement))
                {
                    var p = sql
                    while p.pointee == 0x20 || p.pointee == 0x0A || p.pointee == 0x28 { p += 1 }
                    SQLiteCounts.shared.statement(firstByte: UInt8(bitPattern: p.pointee))
                }
                return 0
            }
}
