import Foundation
import Testing

/// The bundled framework servers, installed by `catbench peers install`
/// (scripts/test runs it), verified and measured as a user would run them.
@Suite("bundled peers", .serialized)
struct BundledPeerTests {
    /// peers/peers.json, as the binary carries it (a test of PeersTests keeps the two in step).
    static func manifest() throws -> [String: Any] {
        let url = BinaryHarness.packageRoot.appendingPathComponent("peers/peers.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    static var peerNames: [String] {
        ((try? manifest())?["peers"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
    }

    /// Checks a peer fails honestly, by peer → suite → check name: its library
    /// accepts what the contract rejects, and the peer does not patch it by
    /// hand. Listed so that the test fails when they change, either way.
    ///
    /// Catzilla's BaseModel takes 1.5 as an int (truncated) and "yes" as a
    /// bool: the checks that send only that answer 201, so its `invalid`
    /// workload is not measured. The one message it gives for a failed model
    /// is its waiver, validation/error-paths.
    static let expectedFailures: [String: [String: Set<String>]] = [
        "catzilla": [
            "validation": [
                "invalid: only quantity 1.5 (not an integer)", "invalid: only newsletter \"yes\" (not a boolean)",
            ],
            // Catzilla 0.2.3's mount_static: a body after HEAD's head, a second answer (the app's 404 after its 403)
            // to a path with "..", a link out of the folder followed, its own ETag not honoured, and an ETag that
            // does not change with the file (the hot cache is off).
            "files": [
                "HEAD: the length, no body", "a file changed on disk is served at once, with a new validator",
                "refused: /static/..%2Fsecret.txt", "refused: /static/..%2fsecret.txt",
                "refused: /static/..%5csecret.txt",
                "refused: /static/../secret.txt", "refused: /static/css/..%2f..%2fsecret.txt",
                "refused: a symbolic link out of the folder (/static/outside.txt)",
                "revalidation with the server's own validator: 304",
            ],
        ]
    ]

    /// The workloads those failing checks keep from being measured.
    static let expectedUnmeasured: [String: [String: Set<String>]] = [
        "catzilla": ["validation": ["invalid"], "files": ["static-small", "static-256k", "static-10m"]]
    ]

    @Test(
        "every bundled peer passes every suite's checks, less what its manifest entry declares (--verify-only)",
        arguments: peerNames)
    func verifiesEverySuite(peer: String) throws {
        let manifest = try Self.manifest()
        let suites = (manifest["suites"] as? [String: String] ?? [:]).keys.sorted()
        let entry = (manifest["peers"] as? [[String: Any]] ?? []).first { $0["name"] as? String == peer } ?? [:]
        let notApplicable = entry["not_applicable"] as? [String: String] ?? [:]
        // A variant (an ORM row) is verified on the suites it serves only.
        let served = (entry["serves"] as? [String: String]).map { Set($0.keys) }
        let binary = try BinaryHarness.binary()
        #expect(
            try Self.installed(binary),
            "the peers are not installed: run `bin/catbench peers install` (scripts/test does)")
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let arguments =
            ["run", "--stack", "none", "--peer", peer, "--verify-only", "--out", out]
            + suites.flatMap { ["--suite", $0] }
        let outcome = try BinaryHarness.run(binary, arguments, timeout: 300)
        let expected = Self.expectedFailures[peer] ?? [:]
        let failing = expected.values.contains { !$0.isEmpty }
        // --verify-only: 0 when every check passed, 3 when one failed.
        #expect(outcome.status == (failing ? 3 : 0), "\(outcome.stdout.suffix(3000))\n\(outcome.stderr.suffix(2000))")
        try #require(
            FileManager.default.fileExists(atPath: out),
            "no result from `catbench run --verify-only`: \(outcome.stderr.suffix(2000))")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        let server = try #require(
            (doc["servers"] as? [[String: Any]])?.first { $0["name"] as? String == peer },
            "\(peer) is not in the result")
        let records = server["verification"] as? [[String: Any]] ?? []
        let verified = Set(records.compactMap { $0["suite"] as? String })
        #expect(
            verified == Set(suites.filter { notApplicable[$0] == nil && served?.contains($0) != false }),
            "\(peer) verified \(verified.sorted()): \(server["error"] ?? "") \(server["log_tail"] ?? "")")
        for record in records {
            let suite = record["suite"] as? String ?? ""
            let failures = Set((record["failures"] as? [[String: Any]] ?? []).compactMap { $0["check"] as? String })
            let wanted = expected[suite] ?? []
            #expect(
                failures == wanted,
                "\(peer) \(suite): failing checks \(failures.sorted()), expected \(wanted.sorted())")
            #expect(record["passed"] as? Bool == failures.isEmpty)
            // Only the workloads those checks qualify go unmeasured.
            let unmeasured = Set(record["failed_workloads"] as? [String] ?? [])
            #expect(
                unmeasured == (Self.expectedUnmeasured[peer]?[suite] ?? []),
                "\(peer) \(suite): \(unmeasured.sorted()) not measured")
        }
    }

    static func installed(_ binary: String) throws -> Bool {
        let list = try BinaryHarness.run(binary, ["peers", "list"])
        // The first line says where the installation is and whether it is complete.
        return list.status == 0 && list.stdout.split(separator: "\n").first?.contains("(installed, Python") == true
    }

    /// Runs `peers` on `suites` briefly and returns the result document.
    static func run(_ peers: [String], suites: [String]) throws -> (BinaryHarness.Outcome, [String: Any]) {
        let binary = try BinaryHarness.binary()
        #expect(
            try installed(binary), "the peers are not installed: run `bin/catbench peers install` (scripts/test does)")
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        var arguments = [
            "run", "--stack", "none", "--duration", "300ms", "--warmup", "100ms", "--repeat", "1",
            "--connections", "16", "--out", out,
        ]
        for peer in peers { arguments += ["--peer", peer] }
        for suite in suites { arguments += ["--suite", suite] }
        let outcome = try BinaryHarness.run(binary, arguments, timeout: 600)
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        return (outcome, doc)
    }

    static func check(_ doc: [String: Any], peers: [String], suites: [String]) {
        let servers = Dictionary(
            uniqueKeysWithValues: (doc["servers"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        for peer in peers {
            let server = servers[peer] ?? [:]
            #expect(
                server["status"] as? String == "measured",
                "\(peer): \(server["error"] ?? "") \(server["verification"] ?? "") \(server["log_tail"] ?? "")")
            let configuration = server["configuration"] as? [String: String] ?? [:]
            #expect(
                configuration["version"].map { $0 != "unknown" && !$0.isEmpty } == true,
                "\(peer) has no recorded version")
            #expect((server["startup_seconds"] as? Double ?? 0) > 0)
            #expect((server["rss_idle_bytes"] as? Double ?? 0) > 0)
            let verified = (server["verification"] as? [[String: Any]] ?? []).filter { $0["passed"] as? Bool == true }
                .compactMap { $0["suite"] as? String }
            #expect(Set(verified) == Set(suites), "\(peer) verified \(verified)")
            let rows = (doc["measurements"] as! [[String: Any]]).filter {
                $0["server"] as? String == peer && $0["not_applicable"] == nil
            }
            #expect(!rows.isEmpty)
            for row in rows {
                let median = row["median"] as? [String: Any] ?? [:]
                #expect((median["rps"] as? Double ?? 0) > 0, "\(peer) \(row["workload"] ?? "")")
                #expect(
                    median["wrong_answers"] as? Int == 0,
                    "\(peer) \(row["workload"] ?? "") gave wrong answers under load")
                #expect((median["server_cpu_us_per_request"] as? Double ?? 0) > 0)
                #expect((median["rss_bytes"] as? Double ?? 0) > 0)
            }
        }
    }

    @Test(
        "with --db postgres every stack and every bundled peer with an application passes the database suite",
        .enabled(
            if: FileManager.default.fileExists(atPath: "/usr/lib/postgresql")
                || ProcessInfo.processInfo.environment["CATBENCH_REQUIRE_POSTGRES"] != nil))
    func databaseOnPostgres() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let outcome = try BinaryHarness.run(
            binary, ["run", "--peer", "all", "--suite", "database", "--db", "postgres", "--verify-only", "--out", out],
            timeout: 600)
        #expect(outcome.status == 0, "\(outcome.stdout.suffix(3000))\n\(outcome.stderr.suffix(2000))")
        #expect(outcome.stderr.contains("database: PostgreSQL "), "\(outcome.stderr.prefix(2000))")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        let servers = doc["servers"] as? [[String: Any]] ?? []
        let verified = servers.filter { server in
            (server["verification"] as? [[String: Any]] ?? []).contains {
                $0["suite"] as? String == "database" && $0["passed"] as? Bool == true
            }
        }.compactMap { $0["name"] as? String }
        #expect(
            Set(verified).isSuperset(of: [
                "ccore", "async", "threaded", "catzilla", "fastapi", "flask", "django", "aiohttp", "tornado",
                "catzilla-sqlalchemy", "fastapi-sqlalchemy", "flask-sqlalchemy", "django-orm",
            ]),
            "verified on PostgreSQL: \(verified.sorted())")
        let suite = (doc["suites"] as? [[String: Any]])?.first { $0["name"] as? String == "database" }
        let location = (suite?["services"] as? [String: String])?["database"] ?? ""
        #expect(location.hasPrefix("PostgreSQL ") && !location.contains("password"), "\(location)")
    }

    @Test("a variant row serves its suites only: named on a run without them it is refused, and the list says so")
    func variantOutsideItsSuites() throws {
        let binary = try BinaryHarness.binary()
        let refused = try BinaryHarness.run(
            binary, ["run", "--stack", "none", "--peer", "flask-sqlalchemy", "--suite", "basic", "--verify-only"])
        #expect(refused.status != 0)
        #expect(
            refused.stderr.contains("peer flask-sqlalchemy serves only the database suite"),
            "\(refused.stderr.suffix(1000))")
        let list = try BinaryHarness.run(binary, ["peers", "list"])
        #expect(list.stdout.contains("serves only: database"), "\(list.stdout.suffix(2000))")
    }

    @Test("Catzilla, FastAPI and Flask pass verification and measure on the basic and middleware suites")
    func pythonPeers() throws {
        let peers = ["catzilla", "fastapi", "flask"]
        let (outcome, doc) = try Self.run(peers, suites: ["basic", "middleware"])
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr.suffix(3000))")
        Self.check(doc, peers: peers, suites: ["basic", "middleware"])
    }

    @Test("nginx serves the static answers, and the dynamic routes show n/a with the reason")
    func nginx() throws {
        let (outcome, doc) = try Self.run(["nginx"], suites: ["basic"])
        #expect(outcome.status == 0, "\(outcome.stdout)\n\(outcome.stderr.suffix(3000))")
        Self.check(doc, peers: ["nginx"], suites: ["basic"])
        let rows = (doc["measurements"] as! [[String: Any]]).filter { $0["server"] as? String == "nginx" }
        let na = rows.filter { $0["not_applicable"] != nil }.compactMap { $0["workload"] as? String }
        #expect(Set(na) == ["user", "search"])
        #expect(outcome.stdout.contains("n/a: nginx serves static answers only"))
    }
}
