import Logging
import PostgresNIO
import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// One pooled postgres-nio connection, leased by a request: the suite's
/// statements as postgres-nio prepared statements (prepared on the
/// connection at first use, then bound and executed), each awaited.
/// PostgreSQL's rules as `PGSession`: rows written in id order, a transfer
/// locks both accounts lower id first.
final class PGLease: @unchecked Sendable {
    let connection: PostgresConnection
    let loop: ObjectIdentifier
    private let logger: Logging.Logger
    /// The lease's own generator, used by one request at a time.
    var random: SeededRandom
    /// When the pool last handed it out (monotonic ns), for `PoolTimes`.
    var leasedAt: UInt64 = 0

    init(_ connection: PostgresConnection, loop: ObjectIdentifier, logger: Logging.Logger) {
        self.connection = connection
        self.loop = loop
        self.logger = logger
        random = SeededRandom(
            seed: Clock.monotonicNanos() ^ UInt64(UInt(bitPattern: ObjectIdentifier(connection).hashValue)))
    }

    func randomIDs(_ count: Int) -> [Int64] { (0..<count).map { _ in DatabaseData.randomID(using: &random) } }

    func world(_ id: Int64) async throws -> Int64 {
        var found: Int64 = 0
        for try await number in try await connection.execute(SelectWorld(id: Int32(id)), logger: logger) {
            found = Int64(number)
        }
        return found
    }

    /// A statement without rows, run to its end (postgres-nio's command-tag
    /// overload reads the tag before the command completes).
    private func run<S: PostgresPreparedStatement>(_ statement: S) async throws where S.Row == () {
        for try await _ in try await connection.execute(statement, logger: logger) {}
    }

    /// `ids.count` rows, each read by its own awaited query.
    func worlds(_ ids: [Int64]) async throws -> [WorldRow] {
        var rows: [WorldRow] = []
        rows.reserveCapacity(ids.count)
        for id in ids { rows.append(WorldRow(id: id, randomNumber: try await world(id))) }
        return rows
    }

    func write(_ rows: [WorldRow]) async throws {
        let ordered = rows.indices.sorted { (rows[$0].id, $0) < (rows[$1].id, $1) }
        try await transaction {
            for i in ordered {
                try await run(UpdateWorld(number: Int32(rows[i].randomNumber), id: Int32(rows[i].id)))
            }
        }
    }

    func fortuneRows() async throws -> [(id: Int64, message: String)] {
        var rows: [(id: Int64, message: String)] = []
        rows.reserveCapacity(13)
        for try await (id, message) in try await connection.execute(SelectFortunes(), logger: logger) {
            rows.append((Int64(id), message))
        }
        return rows
    }

    func usersWithPosts(limit: Int64, offset: Int64) async throws -> [UserWithPosts] {
        var users: [UserWithPosts] = []
        for try await (id, name, post, title) in try await connection.execute(
            SelectUsersWithPosts(limit: limit, offset: offset), logger: logger)
        {
            let id = Int64(id)
            if users.last?.id != id { users.append(UserWithPosts(id: id, username: name, posts: [])) }
            if let post, let title { users[users.count - 1].posts.append(PostSummary(id: Int64(post), title: title)) }
        }
        return users
    }

    func transfer(_ t: DatabaseData.Transfer) async throws -> Result<Int64, DatabaseData.TransferError> {
        do {
            let left = try await transaction { () async throws -> Int64 in
                var balances: [Int64: Int64] = [:]
                for try await (id, balance) in try await connection.execute(
                    LockAccounts(from: t.from, to: t.to), logger: logger)
                {
                    balances[Int64(id)] = Int64(balance)
                }
                guard balances[t.to] != nil else { throw DatabaseData.TransferError.unknownAccount(t.to) }
                guard let has = balances[t.from] else { throw DatabaseData.TransferError.unknownAccount(t.from) }
                try await run(Credit(amount: t.amount, id: t.to))
                guard has >= t.amount else { throw DatabaseData.TransferError.insufficientFunds(balance: has) }
                try await run(Debit(amount: t.amount, id: t.from))
                return has - t.amount
            }
            return .success(left)
        } catch let refused as DatabaseData.TransferError {
            return .failure(refused)
        }
    }

    private func transaction<T>(_ body: () async throws -> T) async throws -> T {
        try await connection.query("BEGIN", logger: logger)
        do {
            let result = try await body()
            try await connection.query("COMMIT", logger: logger)
            return result
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}

// MARK: The statements (world ids and numbers are int4; account ids and amounts come from the request, int8)
// Named here: postgres-nio's default name is `String(reflecting:)` of the type, made again at every execution.

private struct SelectWorld: PostgresPreparedStatement {
    static let name = "catbench_world"
    static let sql = DatabaseData.numbered(DatabaseData.selectWorld)
    typealias Row = Int32
    var id: Int32
    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings()
        b.append(id)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode((Int32, Int32).self).1 }
}

private struct UpdateWorld: PostgresPreparedStatement {
    static let name = "catbench_update"
    static let sql = DatabaseData.numbered(DatabaseData.updateWorld)
    typealias Row = ()
    var number: Int32
    var id: Int32
    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings()
        b.append(number)
        b.append(id)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

private struct SelectFortunes: PostgresPreparedStatement {
    static let name = "catbench_fortunes"
    static let sql = DatabaseData.selectFortunes
    typealias Row = (Int32, String)
    func makeBindings() -> PostgresBindings { PostgresBindings() }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

private struct SelectUsersWithPosts: PostgresPreparedStatement {
    static let name = "catbench_users"
    static let sql = DatabaseData.numbered(DatabaseData.selectUsersWithPosts)
    typealias Row = (Int32, String, Int32?, String?)
    var limit: Int64
    var offset: Int64
    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings()
        b.append(limit)
        b.append(offset)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

private struct LockAccounts: PostgresPreparedStatement {
    static let name = "catbench_lock"
    static let sql = DatabaseData.lockAccounts
    typealias Row = (Int32, Int32)
    var from: Int64
    var to: Int64
    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings()
        b.append(from)
        b.append(to)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row { try row.decode(Row.self) }
}

private struct Credit: PostgresPreparedStatement {
    static let name = "catbench_credit"
    static let sql = DatabaseData.numbered(DatabaseData.credit)
    typealias Row = ()
    var amount: Int64
    var id: Int64
    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings()
        b.append(amount)
        b.append(id)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row {}
}

private struct Debit: PostgresPreparedStatement {
    static let name = "catbench_debit"
    static let sql = DatabaseData.numbered(DatabaseData.debit)
    typealias Row = ()
    var amount: Int64
    var id: Int64
    func makeBindings() -> PostgresBindings {
        var b = PostgresBindings()
        b.append(amount)
        b.append(id)
        return b
    }
    func decodeRow(_ row: PostgresRow) throws -> Row {}
}
