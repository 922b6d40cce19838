import Foundation
import Testing

/// External servers through the release binary: started, verified, measured,
/// stopped — and every way they can fail, reported with nothing left running.
@Suite("external servers", .serialized)
struct PeerCommandTests {
    static func json(_ path: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
    }

    static func servers(_ doc: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: (doc["servers"] as! [[String: Any]]).map { ($0["name"] as! String, $0) })
    }

    static func alive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

    static func pid(in file: String) -> Int32? {
        (try? String(contentsOfFile: file, encoding: .utf8)).flatMap {
            Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    @Test(
        "a command that exits at once and one that never answers are reported with their logs; the others run; exit non-zero; nothing left"
    )
    func failuresToStart() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let mutePID = dir.appendingPathComponent("mute.pid").path
        let outcome = try BinaryHarness.run(
            binary,
            [
                "run", "--stack", "none", "--duration", "200ms", "--warmup", "0", "--repeat", "1", "--start-timeout",
                "2s",
                "--peer-cmd", "quits=echo loading config; echo 'config error: no such module' >&2; exit 3 # {port}",
                "--peer-cmd", "mute=echo $$ > \(mutePID); exec sleep 600 # {port}",
                "--peer-cmd", "good=exec \(binary) serve --stack ccore --port {port}",
                "--out", out,
            ], timeout: 60)
        #expect(outcome.status == 3)
        let servers = Self.servers(try Self.json(out))
        #expect(servers["quits"]?["status"] as? String == "failed_to_start")
        #expect((servers["quits"]?["error"] as? String)?.contains("exited with status 3") == true)
        #expect((servers["quits"]?["log_tail"] as? String)?.contains("config error: no such module") == true)
        #expect(
            outcome.stdout.contains("config error: no such module"), "the table shows the end of the failed peer's log")
        #expect(servers["mute"]?["status"] as? String == "failed_to_start")
        #expect((servers["mute"]?["error"] as? String)?.contains("no correct answer") == true)
        #expect(servers["good"]?["status"] as? String == "measured")
        let pid = try #require(Self.pid(in: mutePID))
        #expect(!Self.alive(pid), "the peer that never answered was left running")
    }

    @Test("peers that cannot be installed (no Python) are reported failed; the run goes on with the others")
    func installFailure() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let outcome = try BinaryHarness.run(
            binary,
            [
                "run", "--stack", "none", "--peer", "fastapi", "--peer", "flask", "--python", "/nonexistent/python3",
                "--peer-cmd", "good=exec \(binary) serve --stack ccore --port {port}",
                "--duration", "200ms", "--warmup", "0", "--repeat", "1", "--out", out,
            ], timeout: 60, environment: ["CATBENCH_CACHE": dir.appendingPathComponent("cache").path])
        #expect(outcome.status == 3)
        #expect(outcome.stderr.contains("Python not found at /nonexistent/python3"))
        let servers = Self.servers(try Self.json(out))
        for name in ["fastapi", "flask"] {
            #expect(servers[name]?["status"] as? String == "failed_to_start")
            #expect((servers[name]?["error"] as? String)?.contains("could not be installed") == true)
        }
        #expect(servers["good"]?["status"] as? String == "measured")
    }

    @Test("a server that dies mid-run is reported failed with its log; the run goes on with the next one")
    func diesMidRun() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let victimPID = dir.appendingPathComponent("victim.pid").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = [
            "run", "--stack", "none", "--duration", "1s", "--warmup", "0", "--repeat", "3",
            "--peer-cmd", "victim=echo $$ > \(victimPID); exec \(binary) serve --stack threaded --port {port}",
            "--peer-cmd", "next=exec \(binary) serve --stack ccore --port {port}", "--out", out,
        ]
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        // Kill the victim once its load has begun (verification takes well under a second).
        var pid: Int32?
        for _ in 0..<100 where pid == nil {
            usleep(50_000)
            pid = Self.pid(in: victimPID)
        }
        let victim = try #require(pid)
        usleep(1_500_000)
        kill(victim, SIGKILL)
        let deadline = Date().addingTimeInterval(60)
        while run.isRunning && Date() < deadline { usleep(50_000) }
        if run.isRunning { run.terminate() }
        run.waitUntilExit()
        #expect(run.terminationStatus == 3)
        let servers = Self.servers(try Self.json(out))
        #expect(servers["victim"]?["status"] as? String == "failed_during_run")
        #expect((servers["victim"]?["error"] as? String)?.contains("SIGKILL") == true)
        #expect((servers["victim"]?["log_tail"] as? String)?.contains("serving threaded") == true)
        #expect(servers["next"]?["status"] as? String == "measured")
    }

    @Test("Ctrl-C while a peer is measured stops it and writes partial results")
    func interruptedPeer() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let peerPID = dir.appendingPathComponent("peer.pid").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = [
            "run", "--stack", "none", "--duration", "1s", "--warmup", "0", "--repeat", "3",
            "--peer-cmd", "p=echo $$ > \(peerPID); exec \(binary) serve --stack ccore --port {port}", "--out", out,
        ]
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        usleep(2_500_000)
        run.interrupt()
        run.waitUntilExit()
        #expect(run.terminationStatus == 130)
        let doc = try Self.json(out)
        #expect(doc["partial"] as? Bool == true)
        #expect((doc["measurements"] as? [Any])?.isEmpty == false)
        let pid = try #require(Self.pid(in: peerPID))
        #expect(!Self.alive(pid), "the peer outlived catbench's Ctrl-C")
    }

    @Test("a server already running is measured at its URL, with its CPU time found through its port")
    func runningServer() throws {
        let binary = try BinaryHarness.binary()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: binary)
        serve.arguments = ["serve", "--stack", "threaded", "--port", "0"]
        let pipe = Pipe()
        serve.standardOutput = pipe
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            serve.interrupt()
            serve.waitUntilExit()
        }
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        let url = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }).trimmingCharacters(
            in: CharacterSet(charactersIn: "/\n"))
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("r.json").path
        let outcome = try BinaryHarness.run(
            binary,
            [
                "run", "--stack", "none", "--peer", "mine=\(url)", "--duration", "300ms",
                "--warmup", "0", "--repeat", "1", "--out", out,
            ], timeout: 60)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        let doc = try Self.json(out)
        #expect(Self.servers(doc)["mine"]?["kind"] as? String == "external-url")
        let measurements = doc["measurements"] as! [[String: Any]]
        #expect(measurements.count == 4)
        for m in measurements {
            let median = m["median"] as! [String: Any]
            #expect((median["server_cpu_us_per_request"] as? Double ?? 0) > 0)
            #expect(median["allocations_per_request"] == nil, "allocations are only measured for embedded stacks")
        }
        #expect(serve.isRunning, "catbench must not stop a server it did not start")
    }

    @Test("contract prints every suite as Markdown and JSON, with answers that pass")
    func contract() throws {
        let binary = try BinaryHarness.binary()
        let md = try BinaryHarness.run(binary, ["contract"], timeout: 60)
        #expect(md.status == 0)
        for suite in ["## basic", "## middleware", "## di", "## validation", "## async"] {
            #expect(md.stdout.contains(suite))
        }
        #expect(md.stdout.contains("an answer that passes: 200, `{\"message\":\"Hello, World!\"}`"))
        let json = try BinaryHarness.run(
            binary, ["contract", "--suite", "validation", "--format", "json"], timeout: 60)
        #expect(json.status == 0)
        let doc = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as! [String: Any]
        let suites = doc["suites"] as! [[String: Any]]
        #expect(suites.count == 1 && suites[0]["name"] as? String == "validation")
        let checks = suites[0]["checks"] as! [[String: Any]]
        #expect(checks.contains { ($0["status"] as? [Int]) == [422] && $0["example_answer"] != nil })
        #expect(try BinaryHarness.run(binary, ["contract", "--suite", "nope"]).status != 0)
    }

    @Test("verify passes a correct server and fails a wrong one, naming the check")
    func verify() throws {
        let binary = try BinaryHarness.binary()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: binary)
        serve.arguments = ["serve", "--stack", "ccore", "--suite", "basic", "--port", "0"]
        let pipe = Pipe()
        serve.standardOutput = pipe
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            serve.interrupt()
            serve.waitUntilExit()
        }
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        let url = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") }).trimmingCharacters(
            in: CharacterSet(charactersIn: "/\n"))
        let good = try BinaryHarness.run(binary, ["verify", url, "--suite", "basic"])
        #expect(good.status == 0)
        #expect(good.stdout.contains("0 failures"))
        // The basic stack does not serve the validation suite: every check fails, by name.
        let bad = try BinaryHarness.run(binary, ["verify", url, "--suite", "validation"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("FAIL valid, 1 item"))
        let skipped = try BinaryHarness.run(binary, ["verify", url, "--suite", "basic", "--skip", "basic/user"])
        #expect(skipped.status == 0 && skipped.stdout.contains("not applicable"))
    }
}
