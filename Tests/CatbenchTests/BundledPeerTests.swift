import Foundation
import Testing

/// The bundled framework servers, installed by `catbench peers install`
/// (scripts/test runs it), verified and measured as a user would run them.
@Suite("bundled peers", .serialized)
struct BundledPeerTests {
    static func installed(_ binary: String) throws -> Bool {
        let list = try BinaryHarness.run(binary, ["peers", "list"])
        // The first line says where the installation is and whether it is complete.
        return list.status == 0 && list.stdout.split(separator: "\n").first?.contains("(installed, Python") == true
    }

    /// Runs `peers` on `suites` briefly and returns the result document.
    static func run(_ peers: [String], suites: [String]) throws -> (BinaryHarness.Outcome, [String: Any]) {
        let binary = try BinaryHarness.binary()
        #expect(try installed(binary), "the peers are not installed: run `bin/catbench peers install` (scripts/test does)")
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        var arguments = ["run", "--stack", "none", "--duration", "300ms", "--warmup", "100ms", "--repeat", "1",
                         "--connections", "16", "--out", out]
        for peer in peers { arguments += ["--peer", peer] }
        for suite in suites { arguments += ["--suite", suite] }
        let outcome = try BinaryHarness.run(binary, arguments, timeout: 600)
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        return (outcome, doc)
    }

    static func check(_ doc: [String: Any], peers: [String], suites: [String]) {
        let servers = Dictionary(uniqueKeysWithValues: (doc["servers"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
        for peer in peers {
            let server = servers[peer] ?? [:]
            #expect(server["status"] as? String == "measured", "\(peer): \(server["error"] ?? "") \(server["verification"] ?? "") \(server["log_tail"] ?? "")")
            let configuration = server["configuration"] as? [String: String] ?? [:]
            #expect(configuration["version"].map { $0 != "unknown" && !$0.isEmpty } == true, "\(peer) has no recorded version")
            #expect((server["startup_seconds"] as? Double ?? 0) > 0)
            #expect((server["rss_idle_bytes"] as? Double ?? 0) > 0)
            let verified = (server["verification"] as? [[String: Any]] ?? []).filter { $0["passed"] as? Bool == true }.compactMap { $0["suite"] as? String }
            #expect(Set(verified) == Set(suites), "\(peer) verified \(verified)")
            let rows = (doc["measurements"] as! [[String: Any]]).filter { $0["server"] as? String == peer && $0["not_applicable"] == nil }
            #expect(!rows.isEmpty)
            for row in rows {
                let median = row["median"] as? [String: Any] ?? [:]
                #expect((median["rps"] as? Double ?? 0) > 0, "\(peer) \(row["workload"] ?? "")")
                #expect(median["wrong_answers"] as? Int == 0, "\(peer) \(row["workload"] ?? "") gave wrong answers under load")
                #expect((median["server_cpu_us_per_request"] as? Double ?? 0) > 0)
                #expect((median["rss_bytes"] as? Double ?? 0) > 0)
            }
        }
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
