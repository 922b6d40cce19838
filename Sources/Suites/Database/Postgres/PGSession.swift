import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// The suite's statements on one PostgreSQL connection, prepared once and
/// kept: what a threaded worker owns. Blocking calls, one round trip each.
///
/// Two things differ from SQLite, which has one writer: rows are written in
/// id order (two `updates` touching the same rows in different orders would
/// deadlock), and a transfer locks both accounts, lower id first, before it
/// credits (else two concurrent debits could both see enough funds).
public final class PGSession: DatabaseSession, @unchecked Sendable {
    let connection: PGConnection
    public var random: SeededRandom

    /// `applicationName` tells a server's connections from catbench's own in `pg_stat_activity`.
    public init(_ url: PostgresURL, applicationName: String = "catbench") throws {
        random = SeededRandom(seed: Clock.monotonicNanos() ^ UInt64(pthread_self()))
        connection = try PGConnection(url, applicationName: applicationName)
        for (name, sql) in Self.statements { try connection.prepare(name, sql) }
    }

    static let statements: [(String, String)] = [
        ("world", DatabaseData.numbered(DatabaseData.selectWorld)),
        ("update", DatabaseData.numbered(DatabaseData.updateWorld)),
        ("fortunes", DatabaseData.selectFortunes),
        ("users", DatabaseData.numbered(DatabaseData.selectUsersWithPosts)),
        ("lock", DatabaseData.lockAccounts),
        ("credit", DatabaseData.numbered(DatabaseData.credit)),
        ("debit", DatabaseData.numbered(DatabaseData.debit)),
        ("balance", DatabaseData.numbered(DatabaseData.selectBalance)),
        ("begin", "BEGIN"), ("commit", "COMMIT"), ("rollback", "ROLLBACK"),
    ]

    public func world(_ id: Int64) throws -> Int64? {
        var number: Int64?
        try connection.execute("world", [.int(id)]) { number = $0.int(1) }
        return number
    }

    public func write(_ rows: [WorldRow]) throws {
        let ordered = rows.indices.sorted { (rows[$0].id, $0) < (rows[$1].id, $1) }
        try transaction {
            for i in ordered { try connection.execute("update", [.int(rows[i].randomNumber), .int(rows[i].id)]) }
        }
    }

    public func fortuneRows() throws -> [(id: Int64, message: String)] {
        var rows: [(id: Int64, message: String)] = []
        rows.reserveCapacity(13)
        try connection.execute("fortunes") { rows.append(($0.int(0), $0.text(1))) }
        return rows
    }

    public func usersWithPosts(limit: Int64, offset: Int64) throws -> [UserWithPosts] {
        var users: [UserWithPosts] = []
        try connection.execute("users", [.int(limit), .int(offset)]) { row in
            let id = row.int(0)
            if users.last?.id != id { users.append(UserWithPosts(id: id, username: row.text(1), posts: [])) }
            if !row.isNull(2) { users[users.count - 1].posts.append(PostSummary(id: row.int(2), title: row.text(3))) }
        }
        return users
    }

    public func balance(_ id: Int64) throws -> Int64? {
        var balance: Int64?
        try connection.execute("balance", [.int(id)]) { balance = $0.int(0) }
        return balance
    }

    public func transfer(_ t: DatabaseData.Transfer) throws -> Result<Int64, DatabaseData.TransferError> {
        do {
            let left = try transaction { () throws -> Int64 in
                var balances: [Int64: Int64] = [:]
                try connection.execute("lock", [.int(t.from), .int(t.to)]) { balances[$0.int(0)] = $0.int(1) }
                guard balances[t.to] != nil else { throw DatabaseData.TransferError.unknownAccount(t.to) }
                guard let has = balances[t.from] else { throw DatabaseData.TransferError.unknownAccount(t.from) }
                try connection.execute("credit", [.int(t.amount), .int(t.to)])
                guard has >= t.amount else { throw DatabaseData.TransferError.insufficientFunds(balance: has) }
                try connection.execute("debit", [.int(t.amount), .int(t.from)])
                return has - t.amount
            }
            return .success(left)
        } catch let refused as DatabaseData.TransferError {
            return .failure(refused)
        }
    }

    /// BEGIN … COMMIT, or ROLLBACK when `body` throws.
    private func transaction<T>(_ body: () throws -> T) throws -> T {
        try connection.execute("begin")
        do {
            let result = try body()
            try connection.execute("commit")
            return result
        } catch {
            try? connection.execute("rollback")
            throw error
        }
    }
}
