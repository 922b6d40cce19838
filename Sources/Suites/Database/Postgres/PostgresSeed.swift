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
                let query = row.text(0).drop { $0 == " " || $0 == "\n" || $0 == "(" }.prefix(6).lowercased()
                let calls = UInt64(row.int(1))
                if row.text(0).contains("pg_stat_") { return }
                if query.hasPrefix("select") || query.hasPrefix("with") {
                    reading.selects += calls
                } else if ["update", "insert", "delete"].contains(where: { query.hasPrefix($0) }) {
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
