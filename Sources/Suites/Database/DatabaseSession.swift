import SuiteKit

/// One connection's worth of the suite's business logic, whatever the
/// database: what a ccore loop or a threaded worker holds. SQLite and
/// PostgreSQL each have one (`SQLiteSession`, `PGSession`).
public protocol DatabaseSession: AnyObject, Sendable {
    /// The owner's own generator (no lock, no system call per number).
    var random: SeededRandom { get set }
    /// One world row's randomNumber, or nil when there is no such row.
    func world(_ id: Int64) throws -> Int64?
    /// Writes `rows` back in one write transaction, a statement per row.
    func write(_ rows: [WorldRow]) throws
    func fortuneRows() throws -> [(id: Int64, message: String)]
    /// A page of users with their posts, from one joined query.
    func usersWithPosts(limit: Int64, offset: Int64) throws -> [UserWithPosts]
    /// One account's balance, or nil when there is no such account.
    func balance(_ id: Int64) throws -> Int64?
    /// Moves the amount in one transaction; a refused transfer is rolled
    /// back after its first write. Returns `from`'s new balance.
    func transfer(_ t: DatabaseData.Transfer) throws -> Result<Int64, DatabaseData.TransferError>
}

extension DatabaseSession {
    /// `count` random world ids.
    public func randomIDs(_ count: Int) -> [Int64] {
        (0..<count).map { _ in DatabaseData.randomID(using: &random) }
    }

    /// `ids.count` rows, each read by its own query.
    public func worlds(_ ids: [Int64]) throws -> [WorldRow] {
        try ids.map { WorldRow(id: $0, randomNumber: try world($0) ?? 0) }
    }

    /// Reads each row, then writes every one back with its new number, in one
    /// write transaction (a statement per row, as TechEmpower's rules allow).
    public func updateWorlds(_ ids: [Int64], newNumbers: [Int64]) throws -> [WorldRow] {
        let rows = try worlds(ids)
        let updated = zip(rows, newNumbers).map { WorldRow(id: $0.id, randomNumber: $1) }
        try write(updated)
        return updated
    }
}
