/// catbench's rows in a PostgreSQL database: the same script as SQLite's.
/// A database that holds tables of the same names that catbench did not
/// make is refused rather than overwritten.
enum PostgresSeed {
    static let tables = ["comments", "posts", "users", "accounts", "fortune", "world", "catbench_seed"]

    static func seed(_ db: PGConnection, grantTo role: String?) throws {
        if try db.scalar("SELECT to_regclass('public.world') IS NOT NULL") == "t" {
            guard try db.scalar("SELECT to_regclass('public.catbench_seed') IS NOT NULL") == "t" else {
                throw PGError.handler(
                    "the database already holds a table named world that catbench did not make; "
                        + "give catbench a database of its own")
            }
            try db.simpleQuery("DROP TABLE IF EXISTS " + tables.joined(separator: ", ") + " CASCADE")
        }
        try db.simpleQuery(DatabaseData.seedScript())
        try db.simpleQuery("CREATE TABLE catbench_seed (seeded_at timestamptz NOT NULL DEFAULT now())")
        if let role {
            try db.simpleQuery("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO \(role)")
        }
        try db.simpleQuery("ANALYZE")
        // The counts start from here; a server without the extension is reported by the check that needs it.
        _ = try? db.simpleQuery("SELECT pg_stat_statements_reset()")
    }
}

/// PostgreSQL's own account of what the servers ran: `pg_stat_statements`
/// (calls per normalised statement) for one role and this database, and
/// `pg_stat_database.sessions` for connections opened.
enum PGStatementCounts {
    /// Statements of `role` so far, classified by their first keyword
    /// (BEGIN, COMMIT and catbench's reads of the statistics are not queries).
    static func read(_ db: PGConnection, role: String) throws -> SQLiteCounts.Reading {
        var reading = SQLiteCounts.Reading(selects: 0, writes: 0)
        do {
            try db.simpleQuery(
                """
                SELECT s.query, s.calls FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                WHERE r.rolname = '\(role)' AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
                """
            ) { row in
                let text = row.text(0)
                guard isQuery(text) else { return }
                let calls = UInt64(row.int(1))
                if ["select", "with"].contains(where: { head(text).hasPrefix($0) }) {
                    reading.selects += calls
                } else {
                    reading.writes += calls
                }
            }
        } catch let error as PGError where error.code == "42P01" || error.code == "55000" {
            throw PGError.handler(
                "pg_stat_statements is not loaded on this server (shared_preload_libraries and CREATE EXTENSION): "
                    + "catbench counts queries from the database's side")
        }
        return reading
    }

    /// The role's queries so far (as `read` classifies them) and their execution time.
    struct Totals {
        var queries: UInt64 = 0
        var execMillis: Double = 0
    }

    static func totals(_ db: PGConnection, role: String) throws -> Totals {
        var totals = Totals()
        try db.simpleQuery(
            """
            SELECT s.query, s.calls, s.total_exec_time FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
            WHERE r.rolname = '\(role)' AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            """
        ) { row in
            guard isQuery(row.text(0)) else { return }
            totals.queries += UInt64(row.int(1))
            totals.execMillis += Double(row.text(2)) ?? 0
        }
        return totals
    }

    /// A reading or writing statement of a server's (not BEGIN, COMMIT, nor catbench's reads of the statistics).
    static func isQuery(_ text: String) -> Bool {
        if text.contains("pg_stat_") { return false }
        return ["select", "with", "update", "insert", "delete"].contains { head(text).hasPrefix($0) }
    }

    /// The statement's first word, lower-cased (at most six letters).
    private static func head(_ text: String) -> String {
        text.drop { $0 == " " || $0 == "\n" || $0 == "(" }.prefix(6).lowercased()
    }

    /// The role's connections open now and how many of them are busy (running
    /// a statement, or inside a transaction), catbench's own left out.
    static func activity(_ db: PGConnection, role: String) throws -> (open: Int, busy: Int) {
        var found = (open: 0, busy: 0)
        try db.simpleQuery(
            """
            SELECT count(*), count(*) FILTER (WHERE state IN ('active', 'idle in transaction'))
            FROM pg_stat_activity WHERE usename = '\(role)' AND datname = current_database()
            AND application_name <> 'catbench'
            """
        ) { found = (Int($0.int(0)), Int($0.int(1))) }
        return found
    }

    /// The server processes (backends) of the role's connections, catbench's own left out.
    static func backends(_ db: PGConnection, role: String) throws -> [Int32] {
        var pids: [Int32] = []
        try db.simpleQuery(
            """
            SELECT pid FROM pg_stat_activity WHERE usename = '\(role)' AND datname = current_database()
            AND application_name <> 'catbench'
            """
        ) { row in if let pid = Int32(row.text(0)) { pids.append(pid) } }
        return pids
    }

    /// Sessions ever established to this database (catbench's own included).
    static func sessions(_ db: PGConnection) throws -> Int64 {
        Int64(try db.scalar("SELECT sessions FROM pg_stat_database WHERE datname = current_database()") ?? "") ?? 0
    }

    /// The role's connections open now, catbench's own left out.
    static func connections(_ db: PGConnection, role: String) throws -> Int {
        Int(
            try db.scalar(
                """
                SELECT count(*) FROM pg_stat_activity WHERE usename = '\(role)' AND datname = current_database()
                AND application_name <> 'catbench'
                """) ?? "") ?? 0
    }
}
