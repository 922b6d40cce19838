import Posix
import SuiteKit
import Suites
import Testing
import Synchronization
import ThreadedStack

#if canImport(Glibc)
    import Glibc
#endif

enum PostgresPresence {
    static let required = getenv("CATBENCH_REQUIRE_POSTGRES").map { String(cString: $0) } == "1"
    static let enabled = required || (try? PostgresCluster.binaries()) != nil
}

/// The database suite on a real PostgreSQL that catbench starts itself
/// (Debian's `postgresql`; `.ci/run` installs it and sets
/// CATBENCH_REQUIRE_POSTGRES=1, so a missing server fails there instead of
/// skipping).
@Suite(
    "PostgreSQL: catbench's own cluster, its client and its counts", .serialized, .enabled(if: PostgresPresence.enabled)
)
struct PostgresTests {
    @Test("a cluster is started, seeded, counted from its own statistics, and gone after stop")
    func clusterLifecycle() throws {
        let database = try DatabaseService.start(.postgres)
        let url = try #require(database.postgres)
        var stopped = false
        defer { if !stopped { database.stop() } }
        #expect(database.location.hasPrefix("PostgreSQL "), "\(database.location)")
        #expect(database.environment["CATBENCH_POSTGRES_URL"] == url.text)
        #expect(try database.worlds().count == DatabaseData.worldRows)
        let (sum, lowest, count) = try database.balances()
        #expect(sum == DatabaseData.totalBalance && lowest == DatabaseData.openingBalance && count == 1_000)
        #expect(try database.fortunes().count == 12)

        // A server's statements are counted by pg_stat_statements, catbench's own are not.
        let session = try PGSession(url, applicationName: "test-server")
        let before = try #require(try database.postgresStatements())
        for id in 1...7 { _ = try session.world(Int64(id)) }
        try session.write([WorldRow(id: 3, randomNumber: 9), WorldRow(id: 1, randomNumber: 8)])
        _ = try database.worlds()
        let delta = try #require(try database.postgresStatements()) - before
        #expect(delta == SQLiteCounts.Reading(selects: 7, writes: 2), "\(delta)")
        #expect(try database.postgresConnections() == 1)
        #expect(try database.worlds()[3] == 9)

        let probe = try PGConnection(PostgresURL(user: "catbench", port: url.port, database: "postgres"))
        let folder = try #require(try probe.scalar("SHOW data_directory"))
        _ = probe
        database.stop()
        stopped = true
        #expect(!FileSystem.exists(folder), "\(folder) is left after stop")
        #expect(throws: PGError.self) { try PGConnection(url, timeoutSeconds: 1) }
    }

    @Test(
        "each stack passes the database suite on PostgreSQL, and a concurrent transfer load keeps the sum",
        arguments: StackName.allCases)
    func stackVerifies(_ stack: StackName) throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let services = ServiceDirectory([database])
        let server = try startServer(
            stack, suites: [DatabaseSuite.self], settings: ServerSettings(port: 0, workers: 2, services: services))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let report = Verifier.verify(suite: DatabaseSuite.contract, address: address, services: services)
        #expect(report.failures.isEmpty, "\(report.failures)")
        #expect(report.warnings.isEmpty, "\(report.warnings)")

        // Eight clients moving money between random accounts at once: no deadlock, no lost update.
        let answers = Mutex<[Int: Int]>([:])
        let threads = try (0..<8).map { n in
            try PosixThread(name: "transfer-\(n)") {
                let client = ProbeClient(address: address)
                var random = SeededRandom(seed: UInt64(n + 1))
                for _ in 0..<60 {
                    let from = Int64.random(in: 1...40, using: &random)
                    let to = from % 40 + 1
                    let amount = Int64.random(in: 1...DatabaseData.largestTransfer, using: &random)
                    let status =
                        (try? client.send(
                            RequestSpec(
                                method: "POST", target: "/transfer?from=\(from)&to=\(to)&amount=\(amount)",
                                expectation: Expectation(statuses: [200, 409]))
                        ).status) ?? -1
                    answers.withLock { $0[status, default: 0] += 1 }
                }
            }
        }
        for thread in threads { thread.join() }
        let counted = answers.withLock { $0 }
        #expect(Set(counted.keys).isSubset(of: [200, 409]), "\(counted)")
        #expect((counted[409] ?? 0) > 0 && (counted[200] ?? 0) > 0, "\(counted)")
        let (sum, lowest, _) = try database.balances()
        #expect(sum == DatabaseData.totalBalance && lowest >= 0, "sum \(sum), lowest \(lowest)")
    }

    @Test(
        "ccore and async do not hold their loop while a query waits: a table lock stalls /db, /fortunes still answers",
        arguments: [StackName.ccore, .async])
    func loopNotBlocked(_ stack: StackName) throws {
        let took = try Self.fortunesWhileLocked(stack)
        #expect(took < 1_000_000_000, "\(stack): /fortunes took \(took / 1_000_000) ms while /db waited on a lock")
    }

    @Test(
        "a server stopped while requests wait for its pool (Ctrl-C under load) ends at once, without a crash",
        arguments: [StackName.ccore, .async])
    func stopWithWaiters(_ stack: StackName) throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)
        let server = try startServer(
            stack, suites: [DatabaseSuite.self],
            settings: ServerSettings(port: 0, workers: 1, services: ServiceDirectory([database])))
        var stopped = false
        defer { if !stopped { server.stop() } }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        // Both pooled connections stall on a lock; six more requests queue for them.
        let locker = try PGConnection(PostgresURL(user: "catbench", port: url.port, database: url.database))
        try locker.simpleQuery("BEGIN; LOCK TABLE world IN ACCESS EXCLUSIVE MODE")
        let clients = try (0..<8).map { n in
            try PosixThread(name: "queued-\(n)") {
                _ = try? ProbeClient(address: address, timeoutSeconds: 10).send(
                    RequestSpec(target: "/db", expectation: Expectation(status: 200)))
            }
        }
        usleep(500_000)
        let started = Clock.monotonicNanos()
        server.stop()
        stopped = true
        let took = Clock.monotonicNanos() - started
        #expect(took < 8_000_000_000, "\(stack): stopping took \(took / 1_000_000) ms")
        for client in clients { client.join() }
        try locker.simpleQuery("COMMIT")
    }

    @Test(
        "requests queued behind a lock are seen waiting for a pooled connection, and its connections as leased",
        arguments: [StackName.ccore, .async])
    func poolWait(_ stack: StackName) throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)
        let server = try startServer(
            stack, suites: [DatabaseSuite.self],
            settings: ServerSettings(port: 0, workers: 1, services: ServiceDirectory([database])))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        _ = try ProbeClient(address: address).send(RequestSpec(target: "/db", expectation: Expectation(status: 200)))
        let watched = try #require(database.observe(poolLimit: 2))
        // The pool's two connections stall on the lock; two more requests queue for them.
        let locker = try PGConnection(PostgresURL(user: "catbench", port: url.port, database: url.database))
        try locker.simpleQuery("BEGIN; LOCK TABLE world IN ACCESS EXCLUSIVE MODE")
        let sending = Mutex(0)
        let began = Clock.monotonicNanos()
        let clients = try (0..<4).map { n in
            try PosixThread(name: "waiting-\(n)") {
                sending.withLock { $0 += 1 }
                _ = try? ProbeClient(address: address, timeoutSeconds: 10).send(
                    RequestSpec(target: "/db", expectation: Expectation(status: 200)))
            }
        }
        // The lock is held 600 ms after the last client began sending, however late its thread started.
        while sending.withLock({ $0 }) < 4 { usleep(1_000) }
        usleep(600_000)
        try locker.simpleQuery("COMMIT")
        for client in clients { client.join() }
        let seconds = Double(Clock.monotonicNanos() - began) / 1e9
        let reading = watched.finish(requests: 4, seconds: seconds)
        // Two of four requests waited at least about 600 ms each: 300 ms or more a request.
        let waited = try #require(reading.figures["db_pool_wait_us_per_request"], "\(reading.figures)")
        #expect(waited > 100_000 && waited < 2_000_000, "\(stack): \(waited) µs per request")
        // Both connections were leased from the first two requests' start to the last two's end.
        let leased = try #require(reading.figures["db_pool_leased"], "\(reading.figures)")
        #expect(leased > 0.5 && leased <= 1.05, "\(stack): leased \(leased) of \(seconds) s")
    }

    @Test("the same probe catches a design that waits: the threaded stack's one worker is held by the stalled /db")
    func blockingDesignIsSeen() throws {
        #expect(try Self.fortunesWhileLocked(.threaded) >= 1_000_000_000)
    }

    /// How long /fortunes takes on a one-worker server while a /db waits on
    /// a lock catbench holds on its table (released after the /fortunes
    /// answer, or after 1.5 s); the stalled /db must answer only after.
    static func fortunesWhileLocked(_ stack: StackName) throws -> UInt64 {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)
        let services = ServiceDirectory([database])
        let server = try startServer(
            stack, suites: [DatabaseSuite.self], settings: ServerSettings(port: 0, workers: 1, services: services))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let warm = ProbeClient(address: address)
        #expect(try warm.send(RequestSpec(target: "/fortunes", expectation: Expectation(status: 200))).status == 200)

        let locker = try PGConnection(PostgresURL(user: "catbench", port: url.port, database: url.database))
        try locker.simpleQuery("BEGIN; LOCK TABLE world IN ACCESS EXCLUSIVE MODE")
        let stalled = Mutex<(status: Int, at: UInt64)?>(nil)
        let waiting = try PosixThread(name: "stalled-db") {
            let client = ProbeClient(address: address, timeoutSeconds: 10)
            let status = (try? client.send(RequestSpec(target: "/db", expectation: Expectation(status: 200))))?.status
            stalled.withLock { $0 = (status ?? -1, Clock.monotonicNanos()) }
        }
        usleep(300_000)
        let released = Mutex<UInt64>(0)
        let releaser = try PosixThread(name: "releaser") {
            usleep(1_500_000)
            released.withLock { $0 = Clock.monotonicNanos() }
            try? locker.simpleQuery("COMMIT")
        }
        let asked = Clock.monotonicNanos()
        let other = ProbeClient(address: address, timeoutSeconds: 5)
        let fortunes = try other.send(RequestSpec(target: "/fortunes", expectation: Expectation(status: 200)))
        let took = Clock.monotonicNanos() - asked
        #expect(fortunes.status == 200)
        releaser.join()
        waiting.join()
        let done = try #require(stalled.withLock { $0 })
        #expect(done.status == 200 && done.at >= released.withLock { $0 }, "/db answered while its table was locked")
        return took
    }

    @Test("on PostgreSQL, a server that connects per request and one that loads users one query each fail")
    func wrongServersFail() throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)
        let app = ThreadedApp()
        try app.route("/db") { _ in
            // A new connection for every request: what a pool exists to prevent.
            guard let session = try? PGSession(url, applicationName: "wrong") else {
                return .json("no db", status: 500)
            }
            let id = DatabaseData.randomID(using: &session.random)
            return .json(["id": .int(Int(id)), "randomNumber": .int(Int((try? session.world(id)) ?? 0) ?? 0)])
        }
        let shared = try PGSession(url, applicationName: "wrong")
        let lock = Mutex(())
        try app.route("/users-with-posts") { request in
            let page = DatabaseData.page(limit: request.args["limit"], offset: request.args["offset"])
            // N+1: the page, then one query per user.
            let users: [UserWithPosts] = lock.withLock { _ in
                (page.offset..<(page.offset + page.limit)).compactMap { i in
                    try? shared.usersWithPosts(limit: 1, offset: i).first
                }
            }
            return .json([
                "users": .array(
                    users.map { user in
                        [
                            "id": .int(Int(user.id)), "username": .string(user.username),
                            "posts": .array(user.posts.map { ["id": .int(Int($0.id)), "title": .string($0.title)] }),
                        ]
                    })
            ])
        }
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 2))
        defer { server.stop() }
        let report = Verifier.verify(
            suite: DatabaseSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port),
            services: ServiceDirectory([database]))
        let pooled = report.failures.filter { $0.check.contains("pooled") }
        #expect(pooled.contains { $0.message.contains("opened 30 database connections") }, "\(pooled)")
        let counted = report.failures.filter { $0.check.contains("counted by the database") }
        #expect(counted.contains { $0.message.contains("users-with-posts: 10.0 reads") }, "\(counted)")
    }

    @Test(
        "a repetition watched by PostgreSQL: queries per request from pg_stat_statements, connections beyond the pool fail"
    )
    func observation() throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)

        let pooled = try #require(database.observe(poolLimit: 2))
        let one = try PGSession(url, applicationName: "pooled")
        for id in 1...30 { _ = try one.world(Int64(id)) }
        usleep(150_000)
        let good = pooled.finish(requests: 10, seconds: 0.5)
        #expect(good.problems.isEmpty, "\(good.problems)")
        #expect(good.figures["db_queries_per_request"] == 3, "\(good.figures)")
        #expect(good.figures["db_queries_per_s"] == 60)
        #expect(good.figures["db_connections_peak"] == 1)
        #expect((good.figures["db_query_us"] ?? 0) > 0 && (good.figures["db_cpu_us_per_request"] ?? 0) > 0)
        // A backend's own pages: more than nothing, far less than the cluster's shared buffers.
        let perConnection = good.figures["db_memory_per_connection_mib"] ?? 0
        #expect(perConnection > 0.1 && perConnection < 64, "\(good.figures)")

        let crowded = try #require(database.observe(poolLimit: 2))
        let many = try (0..<4).map { _ in try PGSession(url, applicationName: "per-request") }
        for session in many { _ = try session.world(1) }
        usleep(150_000)
        let bad = crowded.finish(requests: 4, seconds: 0.2)
        #expect(bad.figures["db_connections_peak"] == 5, "\(bad.figures)")
        #expect(bad.problems.contains { $0.contains("5 connections") && $0.contains("pool of 2") }, "\(bad.problems)")
        _ = (one, many)
    }

    @Test("password log-ins: SCRAM-SHA-256 and MD5 succeed, a wrong password is refused")
    func passwords() throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)
        let admin = PostgresURL(user: "catbench", port: url.port, database: "postgres")
        let own = try PGConnection(admin)
        let folder = try #require(try own.scalar("SHOW data_directory"))
        try own.simpleQuery("CREATE ROLE scram LOGIN PASSWORD 'pä ss'; SET password_encryption = 'md5'")
        try own.simpleQuery("SET password_encryption = 'md5'; CREATE ROLE legacy LOGIN PASSWORD 'old'")
        let hba = folder + "/pg_hba.conf"
        let rules = "host all scram 127.0.0.1/32 scram-sha-256\nhost all legacy 127.0.0.1/32 md5\n"
        let old = FileSystem.read(hba) ?? []
        try FileSystem.writeAtomically(Array(rules.utf8) + old, to: hba)
        if geteuid() == 0, let pw = getpwnam("postgres") { chown(hba, pw.pointee.pw_uid, pw.pointee.pw_gid) }
        try own.simpleQuery("SELECT pg_reload_conf()")
        usleep(200_000)

        let scram = try PGConnection(
            try PostgresURL(parsing: "postgres://scram:p%C3%A4%20ss@127.0.0.1:\(url.port)/postgres"))
        #expect(try scram.scalar("SELECT current_user") == "scram")
        let md5 = try PGConnection(PostgresURL(user: "legacy", password: "old", port: url.port, database: "postgres"))
        #expect(try md5.scalar("SELECT 40 + 2") == "42")
        #expect {
            try PGConnection(PostgresURL(user: "scram", password: "wrong", port: url.port, database: "postgres"))
        } throws: { ($0 as? PGError)?.code == "28P01" }
        #expect {
            try PGConnection(PostgresURL(user: "legacy", port: url.port, database: "postgres"))
        } throws: { "\($0)".contains("asks for a password") }
    }

    @Test("a database holding tables catbench did not make is refused, not overwritten")
    func foreignTables() throws {
        let database = try DatabaseService.start(.postgres)
        defer { database.stop() }
        let url = try #require(database.postgres)
        let own = try PGConnection(PostgresURL(user: "catbench", port: url.port, database: "postgres"))
        try own.simpleQuery("CREATE DATABASE theirs")
        let theirs = try PGConnection(PostgresURL(user: "catbench", port: url.port, database: "theirs"))
        try theirs.simpleQuery(
            "CREATE TABLE world (id int PRIMARY KEY, precious text); INSERT INTO world VALUES (1, 'keep')")
        let address = "postgres://catbench@127.0.0.1:\(url.port)/theirs"
        #expect { try DatabaseService.start(.postgresAt(address)) } throws: {
            "\($0)".contains("catbench did not make")
        }
        #expect(try theirs.scalar("SELECT precious FROM world") == "keep")
        // A database catbench seeded before is seeded again.
        try own.simpleQuery("CREATE DATABASE again")
        let first = try DatabaseService.start(.postgresAt("postgres://catbench@127.0.0.1:\(url.port)/again"))
        first.stop()
        let second = try DatabaseService.start(.postgresAt("postgres://catbench@127.0.0.1:\(url.port)/again"))
        #expect(try second.worlds().count == DatabaseData.worldRows)
        #expect(second.location.contains(" at postgresql://catbench@127.0.0.1:"), "\(second.location)")
        second.stop()
    }

    @Test(
        "postgres:// addresses",
        arguments: [
            ("postgres://u:p@db.local:6543/shop", "u", "p", "db.local", 6543, "shop"),
            ("postgresql://u@localhost/shop?sslmode=disable", "u", nil, "127.0.0.1", 5432, "shop"),
            ("postgres://127.0.0.1:5433", "postgres", nil, "127.0.0.1", 5433, "postgres"),
        ] as [(String, String, String?, String, Int, String)])
    func addresses(_ text: String, _ user: String, _ password: String?, _ host: String, _ port: Int, _ db: String)
        throws
    {
        let url = try PostgresURL(parsing: text)
        #expect(url.user == user && url.password == password && url.host == host)
        #expect(Int(url.port) == port && url.database == db)
        #expect(!url.redacted.contains("p@"))
    }

    @Test(
        "addresses catbench cannot use are refused with the reason",
        arguments: [
            "mysql://x@y/z", "postgres://u@h:0/d", "postgres://u@h:99999/d", "postgres://u@h/d?sslmode=require",
        ])
    func badAddresses(_ text: String) {
        #expect(throws: PostgresURL.Invalid.self) { try PostgresURL(parsing: text) }
        #expect(throws: (any Error).self) { try DatabaseService.Choice(parsing: text) }
    }
}
