import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// A throw-away PostgreSQL cluster from Debian's `postgresql` package: made
/// with `initdb` in a scratch folder, served by `postgres` on a free
/// loopback port with `pg_stat_statements` loaded, and deleted when it
/// stops (also on Ctrl-C and on failure, by the run's service directory).
/// PostgreSQL refuses to run as root, so under root both run as the
/// `postgres` user (through util-linux's `setpriv`, which execs in place:
/// the process catbench holds is the postmaster itself).
public final class PostgresCluster: @unchecked Sendable {
    public let folder: String
    public let port: UInt16
    public let version: String
    /// catbench's own role (the cluster's superuser): seeding and the ground truth.
    public let adminURL: PostgresURL
    /// The role the servers under test log in as; its statements are the ones counted.
    public let serverURL: PostgresURL
    public let maxConnections: Int
    private let process: ChildProcess

    public static let serverRole = "bench"
    public static let databaseName = "catbench"

    /// The folder with `initdb` and `postgres`: `$CATBENCH_PG_BIN`, else
    /// the newest of Debian's `/usr/lib/postgresql/<version>/bin`.
    public static func binaries() throws -> String {
        if let given = getenv("CATBENCH_PG_BIN").map({ String(cString: $0) }), !given.isEmpty {
            guard FileSystem.isExecutable(given + "/postgres") else {
                throw ServiceFailure(description: "CATBENCH_PG_BIN=\(given) holds no postgres program")
            }
            return given
        }
        let versions = (try? FileSystem.list("/usr/lib/postgresql"))?.compactMap { Int($0) }.sorted() ?? []
        for version in versions.reversed() {
            let bin = "/usr/lib/postgresql/\(version)/bin"
            if FileSystem.isExecutable(bin + "/initdb") && FileSystem.isExecutable(bin + "/postgres") { return bin }
        }
        throw ServiceFailure(
            description:
                "PostgreSQL's server is not installed: `apt-get install postgresql` (Debian's package gives initdb "
                + "and postgres), or pass --db postgres://user:password@host:port/database for a server already running"
        )
    }

    /// Makes, starts and prepares a cluster: its database, the servers' role, `pg_stat_statements`.
    public static func start(maxConnections: Int) throws -> PostgresCluster {
        let bin = try binaries()
        let owner = try runAs()
        let folder = try FileSystem.temporaryDirectory(prefix: "catbench-pg")
        do {
            if let owner { guard chown(folder, owner.uid, owner.gid) == 0 else { throw PosixError("chown \(folder)") } }
            try run(
                [
                    bin + "/initdb", "-D", folder + "/data", "-U", "catbench", "--auth=trust", "-E", "UTF8",
                    "--no-locale",
                    "--no-sync",
                ], as: owner, log: folder + "/initdb.log")
            var lastFailure = ""
            for _ in 0..<3 {
                let port = try freePort()
                let process = try ChildProcess.spawn(
                    (owner == nil ? [] : setpriv(owner!)) + [
                        bin + "/postgres", "-D", folder + "/data", "-p", String(port), "-k", folder,
                        "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=\(maxConnections)",
                        "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=top",
                        "-c", "synchronous_commit=off", "-c", "shared_buffers=128MB", "-c", "fsync=on",
                    ], logPath: folder + "/postgres.log")
                do {
                    return try PostgresCluster(
                        folder: folder, port: port, process: process, maxConnections: maxConnections)
                } catch {
                    process.stop(grace: 2)
                    lastFailure = "\(error)"
                    // Another program took the port between the probe and the bind: try another.
                    if !ChildProcess.tail(of: folder + "/postgres.log", lines: 20).contains("could not bind") { break }
                }
            }
            throw ServiceFailure(description: lastFailure)
        } catch {
            FileSystem.removeTree(folder)
            throw error
        }
    }

    private init(folder: String, port: UInt16, process: ChildProcess, maxConnections: Int) throws {
        self.folder = folder
        self.port = port
        self.process = process
        self.maxConnections = maxConnections
        adminURL = PostgresURL(user: "catbench", port: port, database: "postgres")
        serverURL = PostgresURL(user: Self.serverRole, port: port, database: Self.databaseName)
        let deadline = Clock.monotonicNanos() + 30_000_000_000
        var admin: PGConnection?
        while admin == nil {
            if let ended = process.poll() {
                throw ServiceFailure(
                    description:
                        "postgres \(ended) before it accepted a connection:\n"
                        + ChildProcess.tail(of: folder + "/postgres.log", lines: 15))
            }
            admin = try? PGConnection(adminURL, timeoutSeconds: 5)
            if admin == nil {
                guard Clock.monotonicNanos() < deadline else {
                    throw ServiceFailure(description: "postgres did not accept a connection within 30 s")
                }
                usleep(50_000)
            }
        }
        version = admin!.serverVersion
        try admin!.simpleQuery("CREATE DATABASE \(Self.databaseName)")
        try admin!.simpleQuery("CREATE ROLE \(Self.serverRole) LOGIN")
        let own = try PGConnection(PostgresURL(user: "catbench", port: port, database: Self.databaseName))
        try own.simpleQuery("CREATE EXTENSION pg_stat_statements")
        try own.simpleQuery("GRANT ALL ON SCHEMA public TO \(Self.serverRole)")
    }

    /// Fast shutdown (SIGINT: clients are disconnected), then the folder is deleted.
    public func stop() {
        process.stop(grace: 10, signal: SIGINT)
        FileSystem.removeTree(folder)
    }

    public var isRunning: Bool { process.isRunning }

    /// The postmaster, whose process group holds every backend.
    public var pid: pid_t { process.pid }

    // MARK: Running as the postgres user

    private struct Owner { let uid: uid_t; let gid: gid_t }

    /// The postgres user when catbench runs as root (PostgreSQL refuses root), else nil.
    private static func runAs() throws -> Owner? {
        guard geteuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw ServiceFailure(
                description:
                    "catbench runs as root and PostgreSQL refuses root, but there is no postgres user to run it as "
                    + "(Debian's postgresql package makes one)")
        }
        guard FileSystem.isExecutable("/usr/bin/setpriv") else {
            throw ServiceFailure(
                description: "running PostgreSQL as the postgres user needs setpriv: `apt-get install util-linux`")
        }
        return Owner(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    /// Runs as the postgres user; should catbench die without stopping it
    /// (SIGKILL), the kernel sends the server SIGINT, PostgreSQL's fast
    /// shutdown (a parent-death signal set after the change of user, which
    /// would clear one set before).
    private static func setpriv(_ owner: Owner) -> [String] {
        [
            "/usr/bin/setpriv", "--reuid=\(owner.uid)", "--regid=\(owner.gid)", "--clear-groups", "--pdeathsig", "INT",
            "--",
        ]
    }

    private static func run(_ arguments: [String], as owner: Owner?, log: String) throws {
        let child = try ChildProcess.spawn(
            (owner == nil ? [] : setpriv(owner!)) + arguments, logPath: log, ownGroup: false)
        guard let ended = child.wait(seconds: 120) else {
            child.stop(grace: 1)
            throw ServiceFailure(description: "\(arguments[0]) did not finish within 120 s")
        }
        guard ended == .exited(0) else {
            throw ServiceFailure(
                description: "\(arguments[0]) \(ended):\n" + ChildProcess.tail(of: log, lines: 15))
        }
    }

    private static func freePort() throws -> UInt16 {
        let fd = try Socket.listen(on: try SocketAddress(host: "127.0.0.1", port: 0), backlog: 1)
        defer { close(fd) }
        return Socket.localPort(of: fd)
    }
}
