import Foundation
import Testing

/// `--db postgres` through the binary: figures PostgreSQL itself gives for
/// every row, and the cluster catbench starts gone after the run, also
/// after Ctrl-C.
@Suite(
    "catbench run --db postgres", .serialized,
    .enabled(
        if: FileManager.default.fileExists(atPath: "/usr/lib/postgresql")
            || ProcessInfo.processInfo.environment["CATBENCH_REQUIRE_POSTGRES"] != nil))
struct PostgresCommandTests {
    /// The folders and postmasters of clusters made under `dir`.
    static func leftovers(under dir: URL) throws -> (folders: [String], processes: [String], pids: [Int32]) {
        let folders = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasPrefix("catbench-pg")
        }
        var processes: [String] = []
        var pids: [Int32] = []
        for pid in try FileManager.default.contentsOfDirectory(atPath: "/proc") where Int(pid) != nil {
            guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { continue }
            let command = String(decoding: raw.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            // The postmaster of a cluster made there (catbench's own command line names the folder too).
            if command.contains("bin/postgres -D \(dir.path)") {
                processes.append(command)
                pids.append(Int32(pid)!)
            }
        }
        return (folders, processes, pids)
    }

    /// Waits at most `seconds` for `process` to end (a child left running
    /// can hold Foundation's wait open); then stops whatever cluster is left.
    static func finish(_ process: Process, seconds: Double) {
        let limit = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < limit { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    static func stopLeftovers(under dir: URL) {
        for pid in (try? leftovers(under: dir).pids) ?? [] { kill(pid, SIGKILL) }
    }

    @Test("every row carries PostgreSQL's own count of queries per request, and the cluster is gone afterwards")
    func figures() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let run = try BinaryHarness.run(
            binary,
            [
                "run", "--suite", "database", "--db", "postgres", "--stack", "threaded", "--duration", "0.3s",
                "--warmup", "0s", "--repeat", "1", "-c", "8", "--out", out,
            ],
            timeout: 300, environment: ["TMPDIR": dir.path])
        #expect(run.status == 0, "\(run.stdout.suffix(2000))\n\(run.stderr.suffix(2000))")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        let rows = doc["measurements"] as? [[String: Any]] ?? []
        func figure(_ workload: String, _ name: String) -> Double? {
            let row = rows.first { $0["workload"] as? String == workload }
            return ((row?["median"] as? [String: Any])?["service_figures"] as? [String: Double])?[name]
        }
        for (workload, queries) in [("db", 1.0), ("queries-5", 5.0), ("updates-20", 40.0), ("users-with-posts", 1.0)] {
            let counted = try #require(figure(workload, "db_queries_per_request"), "\(workload): \(rows.count) rows")
            #expect(abs(counted - queries) < queries * 0.05, "\(workload): \(counted) queries per request")
        }
        #expect((figure("db", "db_cpu_us_per_request") ?? 0) > 0)
        #expect(figure("db", "db_connections_peak") == 1)
        let left = try Self.leftovers(under: dir)
        #expect(left.folders.isEmpty && left.processes.isEmpty, "\(left)")
    }

    @Test("Ctrl-C during a run on PostgreSQL stops and deletes the cluster, and the partial result is written")
    func interrupted() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("partial.json").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = [
            "run", "--suite", "database", "--db", "postgres", "--stack", "threaded", "--duration", "1s", "--out", path,
        ]
        run.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": dir.path]) { _, new in new }
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        // Until the cluster is up and the measuring has begun.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try Self.leftovers(under: dir).processes.isEmpty { usleep(100_000) }
        usleep(3_000_000)
        #expect(try !Self.leftovers(under: dir).processes.isEmpty, "no cluster was started")
        defer { Self.stopLeftovers(under: dir) }
        run.interrupt()
        Self.finish(run, seconds: 30)
        #expect(!run.isRunning && run.terminationStatus == 130)
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        #expect(json["partial"] as? Bool == true)
        let left = try Self.leftovers(under: dir)
        #expect(left.folders.isEmpty && left.processes.isEmpty, "\(left)")
    }

    @Test("a catbench killed outright (SIGKILL) still takes its cluster down: PostgreSQL gets its parent-death signal")
    func killed() throws {
        try #require(getuid() == 0, "the parent-death signal is set by setpriv, which catbench uses under root")
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = [
            "run", "--suite", "database", "--db", "postgres", "--stack", "threaded", "--duration", "1s",
            "--out", dir.appendingPathComponent("r.json").path,
        ]
        run.environment = ProcessInfo.processInfo.environment.merging(["TMPDIR": dir.path]) { _, new in new }
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try Self.leftovers(under: dir).processes.isEmpty { usleep(100_000) }
        #expect(try !Self.leftovers(under: dir).processes.isEmpty, "no cluster was started")
        defer { Self.stopLeftovers(under: dir) }
        kill(run.processIdentifier, SIGKILL)
        Self.finish(run, seconds: 10)
        let gone = Date().addingTimeInterval(20)
        while Date() < gone, try !Self.leftovers(under: dir).processes.isEmpty { usleep(100_000) }
        #expect(try Self.leftovers(under: dir).processes.isEmpty, "PostgreSQL outlived the catbench that started it")
    }

    @Test("an address catbench cannot use is refused before anything starts")
    func badAddress() throws {
        let binary = try BinaryHarness.binary()
        let refused = try BinaryHarness.run(binary, ["run", "--suite", "database", "--db", "mysql://u@h/d"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("--db mysql://u@h/d"), "\(refused.stderr)")
    }
}
