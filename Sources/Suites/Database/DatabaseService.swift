import Posix
import SuiteKit
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// The database the suite's servers use, started once per run and seeded by
/// catbench from a fixed seed (the same rows for every server): by default
/// an embedded SQLite file in a scratch folder; with `--db postgres` a
/// throw-away PostgreSQL cluster catbench starts; with `--db postgres://…`
/// a server already running. catbench's own connection (not counted among
/// the servers' statements) is the ground truth the checks read and write
/// behind the servers' backs.
public final class DatabaseService: ObservingService, @unchecked Sendable {
    public static let serviceName = "database"

    /// Which database the next `start()` gives (the CLI's `--db`).
    public enum Choice: Sendable, Equatable {
        case sqlite
        case postgres
        case postgresAt(String)

        /// `sqlite`, `postgres` or a `postgres://` address.
        public init(parsing text: String) throws {
            switch text {
            case "sqlite": self = .sqlite
            case "postgres", "postgresql": self = .postgres
            default:
                _ = try PostgresURL(parsing: text)
                self = .postgresAt(text)
            }
        }
    }

    /// The choice `start()` follows; set once before a run starts its services.
    public static let choice = Mutex<Choice>(.sqlite)
    /// `max_connections` of a cluster catbench starts: the 256-connection
    /// level's servers, catbench's own and a margin, so a server that
    /// connects per request runs out instead of hiding it.
    public static let clusterConnections = 300

    /// The SQLite file (empty on PostgreSQL).
    public let path: String
    /// Where the servers log in on PostgreSQL (nil on SQLite).
    public let postgres: PostgresURL?
    private let backend: Backend
    private let mutex = Mutex(())

    private enum Backend {
        case sqlite(folder: String, own: SQLiteDB, reads: SQLiteSession)
        case postgres(own: PGConnection, reads: PGSession, cluster: PostgresCluster?, url: PostgresURL)
    }

    public let address: Posix.SocketAddress

    private init(sqlite: ()) throws {
        let folder: String
        do {
            folder = try FileSystem.temporaryDirectory(prefix: "catbench-db")
        } catch { throw ServiceFailure(description: "cannot make a scratch folder for the database: \(error)") }
        path = folder + "/catbench.sqlite"
        postgres = nil
        do {
            let own = try SQLiteDB(path: path, counted: false)
            try own.execute(DatabaseData.seedScript())
            backend = .sqlite(folder: folder, own: own, reads: try SQLiteSession(path: path, counted: false))
        } catch {
            FileSystem.removeTree(folder)
            throw ServiceFailure(description: "cannot seed the SQLite database in \(folder): \(error)")
        }
        address = try Posix.SocketAddress(host: "127.0.0.1", port: 0)
    }

    private init(cluster: PostgresCluster?, admin: PostgresURL, servers: PostgresURL) throws {
        path = ""
        postgres = servers
        do {
            let own = try PGConnection(admin)
            try PostgresSeed.seed(own, grantTo: cluster == nil ? nil : servers.user)
            backend = .postgres(own: own, reads: try PGSession(admin), cluster: cluster, url: servers)
        } catch {
            cluster?.stop()
            throw ServiceFailure(description: "cannot seed PostgreSQL at \(admin.redacted): \(error)")
        }
        address = try Posix.SocketAddress(host: servers.host, port: servers.port)
    }

    public static func start() throws -> DatabaseService { try start(choice.withLock { $0 }) }

    public static func start(_ choice: Choice) throws -> DatabaseService {
        switch choice {
        case .sqlite:
            return try DatabaseService(sqlite: ())
        case .postgres:
            let cluster = try PostgresCluster.start(maxConnections: clusterConnections)
            let admin = PostgresURL(user: "catbench", port: cluster.port, database: PostgresCluster.databaseName)
            return try DatabaseService(cluster: cluster, admin: admin, servers: cluster.serverURL)
        case .postgresAt(let text):
            let url = try PostgresURL(parsing: text)
            return try DatabaseService(cluster: nil, admin: url, servers: url)
        }
    }

    public var environment: [String: String] {
        if let postgres { return ["CATBENCH_DATABASE": "postgres", "CATBENCH_POSTGRES_URL": postgres.text] }
        return ["CATBENCH_DATABASE": "sqlite", "CATBENCH_SQLITE_PATH": path]
    }

    public var location: String {
        switch backend {
        case .sqlite: "SQLite \(SQLiteDB.version), \(path) (WAL, synchronous=NORMAL)"
        case .postgres(let own, _, let cluster, let url):
            cluster.map {
                "PostgreSQL \(own.serverVersion), a cluster catbench started at \(url.redacted) "
                    + "(synchronous_commit=off, max_connections=\($0.maxConnections))"
            } ?? "PostgreSQL \(own.serverVersion) at \(url.redacted)"
        }
    }

    /// `sqlite` or `postgres`.
    public var engine: String { postgres == nil ? "sqlite" : "postgres" }

    public func stop() {
        switch backend {
        case .sqlite(let folder, _, _): FileSystem.removeTree(folder)
        case .postgres(_, _, let cluster, _): cluster?.stop()
        }
    }

    // MARK: The ground truth, read and written by catbench itself

    private func own<T>(_ body: (Backend) throws -> T) rethrows -> T {
        try mutex.withLock { _ in try body(backend) }
    }

    /// Runs SQL on catbench's own connection (tests stage wrong servers with it).
    public func execute(_ sql: String) throws {
        try own { backend in
            switch backend {
            case .sqlite(_, let db, _): try db.execute(sql)
            case .postgres(let db, _, _, _): try db.simpleQuery(sql)
            }
        }
    }

    /// Every row of a two-integer query.
    private func pairs(_ sql: String) throws -> [(Int64, Int64)] {
        try own { backend in
            var all: [(Int64, Int64)] = []
            switch backend {
            case .sqlite(_, let db, _):
                let s = try db.prepare(sql)
                while try s.step() { all.append((s.int(0), s.int(1))) }
            case .postgres(let db, _, _, _):
                try db.simpleQuery(sql) { all.append(($0.int(0), $0.int(1))) }
            }
            return all
        }
    }

    /// The session that reads what the servers must answer.
    private func reads<T>(_ body: (any DatabaseSession) throws -> T) throws -> T {
        try own { backend in
            switch backend {
            case .sqlite(_, _, let reads): try body(reads)
            case .postgres(_, let reads, _, _): try body(reads)
            }
        }
    }

    /// Every world row's number, by id.
    public func worlds() throws -> [Int64: Int64] {
        var all: [Int64: Int64] = [:]
        for (id, n) in try pairs("SELECT id, randomNumber FROM world") { all[id] = n }
        return all
    }

    /// Changes every world row behind the servers' backs: a server that
    /// answers from a copy shows the old numbers.
    public func shiftWorlds() throws {
        try execute("UPDATE world SET randomNumber = (randomNumber % \(DatabaseData.worldRows)) + 1")
    }

    /// Sets one account's balance (checks use it to stage a transfer).
    public func setBalance(_ id: Int64, _ balance: Int64) throws {
        try execute("UPDATE accounts SET balance = \(balance) WHERE id = \(id)")
    }

    public func balance(_ id: Int64) throws -> Int64? { try reads { try $0.balance(id) } }

    /// The sum of all balances, the lowest one, and the number of accounts.
    public func balances() throws -> (sum: Int64, lowest: Int64, count: Int64) {
        let sum = try pairs("SELECT sum(balance), count(*) FROM accounts").first ?? (0, 0)
        let lowest = try pairs("SELECT min(balance), 0 FROM accounts").first?.0 ?? 0
        return (sum.0, lowest, sum.1)
    }

    /// What `users-with-posts` must answer for a page, from catbench's own read.
    public func usersWithPosts(limit: Int64, offset: Int64) throws -> [UserWithPosts] {
        try reads { try $0.usersWithPosts(limit: limit, offset: offset) }
    }

    public func fortunes() throws -> [(id: Int64, message: String)] { try reads { try $0.fortuneRows() } }

    /// Adds a fortune behind the servers' backs (and `removeFortune` takes it away again).
    public func addFortune(_ id: Int64, _ message: String) throws {
        try execute("INSERT INTO fortune VALUES (\(id), '\(message.replacing("'", with: "''"))')")
    }

    public func removeFortune(_ id: Int64) throws {
        try execute("DELETE FROM fortune WHERE id = \(id)")
    }

    // MARK: PostgreSQL's own counts

    /// PostgreSQL's view of one repetition (nil on SQLite, or when it cannot be read).
    public func observe(poolLimit: Int) -> (any LoadObservation)? {
        guard case .postgres(_, _, let cluster, let servers) = backend else { return nil }
        let admin = cluster.map { PostgresURL(user: "catbench", port: $0.port, database: PostgresCluster.databaseName) }
        return try? PostgresObservation(
            url: admin ?? servers, role: servers.user, poolLimit: poolLimit, serverPID: cluster?.pid)
    }

    /// The servers' statements as `pg_stat_statements` counts them, or nil on SQLite.
    public func postgresStatements() throws -> SQLiteCounts.Reading? {
        guard let servers = postgres else { return nil }
        return try own { backend in
            guard case .postgres(let db, _, _, _) = backend else { return nil }
            return try PGStatementCounts.read(db, role: servers.user)
        }
    }

    /// Waits (at most `seconds`) until none of the servers' connections is
    /// running a statement or inside a transaction. PostgreSQL counts a
    /// statement when its portal closes, which in a transaction is at the
    /// next statement or the transaction's end; a server may end the
    /// transaction after it has answered (FastAPI runs a dependency's
    /// clean-up after the response), so counts are read once it has.
    public func postgresSettle(seconds: Double = 2) throws {
        guard let servers = postgres else { return }
        let deadline = Clock.monotonicNanos() + UInt64(seconds * 1e9)
        while Clock.monotonicNanos() < deadline {
            let busy = try own { backend -> Int in
                guard case .postgres(let db, _, _, _) = backend else { return 0 }
                return try PGStatementCounts.activity(db, role: servers.user).busy
            }
            if busy == 0 { return }
            Clock.sleep(seconds: 0.005)
        }
    }

    /// Sessions ever opened to the database (`pg_stat_database`), or nil on SQLite.
    public func postgresSessions() throws -> Int64? {
        try own { backend in
            guard case .postgres(let db, _, _, _) = backend else { return nil }
            return try PGStatementCounts.sessions(db)
        }
    }

    /// The servers' connections open now (`pg_stat_activity`), or nil on SQLite.
    public func postgresConnections() throws -> Int? {
        guard let servers = postgres else { return nil }
        return try own { backend in
            guard case .postgres(let db, _, _, _) = backend else { return nil }
            return try PGStatementCounts.connections(db, role: servers.user)
        }
    }
}
