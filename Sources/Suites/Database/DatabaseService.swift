import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// The database the suite's servers use, started once per run: today the
/// embedded default, a SQLite file in a scratch folder of the run's,
/// seeded by catbench from a fixed seed (the same rows for every server),
/// deleted afterwards. catbench's own connection (not counted among the
/// servers' statements) is the ground truth the checks read and write
/// behind the servers' backs.
public final class DatabaseService: SuiteService, @unchecked Sendable {
    public static let serviceName = "database"

    public let folder: String
    public let path: String
    private let own: SQLiteDB
    /// The servers' own statements on catbench's connection, for reading what they must answer.
    private let reads: SQLiteSession
    private var mutex = pthread_mutex_t()

    /// SQLite has no address (`location` names the file).
    public let address: Posix.SocketAddress

    init() throws {
        var template = Array(
            ((getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp") + "/catbench-db-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw ServiceFailure(description: "cannot make a scratch folder for the database: \(PosixError("mkdtemp"))")
        }
        folder = String(cString: made)
        path = folder + "/catbench.sqlite"
        do {
            own = try SQLiteDB(path: path, counted: false)
            try own.execute(DatabaseData.seedScript())
            reads = try SQLiteSession(path: path, counted: false)
        } catch {
            Self.remove(folder)
            throw ServiceFailure(description: "cannot seed the SQLite database in \(folder): \(error)")
        }
        address = try Posix.SocketAddress(host: "127.0.0.1", port: 0)
        pthread_mutex_init(&mutex, nil)
    }

    public static func start() throws -> DatabaseService { try DatabaseService() }

    public var environment: [String: String] {
        ["CATBENCH_DATABASE": "sqlite", "CATBENCH_SQLITE_PATH": path]
    }

    public var location: String { "SQLite \(SQLiteDB.version), \(path) (WAL, synchronous=NORMAL)" }

    public func stop() {
        Self.remove(folder)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    private static func remove(_ folder: String) {
        for name in ["catbench.sqlite", "catbench.sqlite-wal", "catbench.sqlite-shm"] {
            unlink(folder + "/" + name)
        }
        rmdir(folder)
    }

    // MARK: The ground truth, read and written by catbench itself

    /// Runs `body` on catbench's own connection, one caller at a time.
    public func withOwnConnection<T>(_ body: (SQLiteDB) throws -> T) throws -> T {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return try body(own)
    }

    /// Every world row's number, by id.
    public func worlds() throws -> [Int64: Int64] {
        try withOwnConnection { db in
            let s = try db.prepare("SELECT id, randomNumber FROM world")
            var all: [Int64: Int64] = [:]
            while try s.step() { all[s.int(0)] = s.int(1) }
            return all
        }
    }

    /// Changes every world row behind the servers' backs: a server that
    /// answers from a copy shows the old numbers.
    public func shiftWorlds() throws {
        try withOwnConnection { db in
            try db.execute("UPDATE world SET randomNumber = (randomNumber % \(DatabaseData.worldRows)) + 1")
        }
    }

    /// Sets one account's balance (checks use it to stage a transfer).
    public func setBalance(_ id: Int64, _ balance: Int64) throws {
        try withOwnConnection { db in
            try db.execute("UPDATE accounts SET balance = \(balance) WHERE id = \(id)")
        }
    }

    public func balance(_ id: Int64) throws -> Int64? {
        try withOwnConnection { _ in try reads.balance(id) }
    }

    /// The sum of all balances, the lowest one, and the number of accounts.
    public func balances() throws -> (sum: Int64, lowest: Int64, count: Int64) {
        try withOwnConnection { db in
            let s = try db.prepare("SELECT total(balance), min(balance), count(*) FROM accounts")
            _ = try s.step()
            return (Int64(s.double(0)), s.int(1), s.int(2))
        }
    }

    /// What `users-with-posts` must answer for a page, from catbench's own read.
    public func usersWithPosts(limit: Int64, offset: Int64) throws -> [UserWithPosts] {
        try withOwnConnection { _ in try reads.usersWithPosts(limit: limit, offset: offset) }
    }

    public func fortunes() throws -> [(id: Int64, message: String)] {
        try withOwnConnection { _ in try reads.fortuneRows() }
    }

    /// Adds a fortune behind the servers' backs (and `removeFortune` takes it away again).
    public func addFortune(_ id: Int64, _ message: String) throws {
        try withOwnConnection { db in
            let s = try db.prepare("INSERT INTO fortune VALUES (?, ?)")
            try s.bind(1, id).bind(2, message).run()
        }
    }

    public func removeFortune(_ id: Int64) throws {
        try withOwnConnection { db in try db.execute("DELETE FROM fortune WHERE id = \(id)") }
    }
}
