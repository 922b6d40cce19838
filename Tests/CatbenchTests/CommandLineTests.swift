import Foundation
import Testing

/// The commands a user types, through the release binary.
@Suite("catbench on the command line", .serialized)
struct CommandLineTests {
    @Test("serve --port 0 prints the port; load measures it and writes the JSON result")
    func serveAndLoad() throws {
        let binary = try BinaryHarness.binary()
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: binary)
        serve.arguments = ["serve", "--stack", "ccore", "--port", "0"]
        let out = Pipe()
        serve.standardOutput = out
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer {
            serve.interrupt()
            serve.waitUntilExit()
        }
        var line = ""
        let handle = out.fileHandleForReading
        while !line.contains("\n") {
            let data = handle.availableData
            if data.isEmpty { break }
            line += String(decoding: data, as: UTF8.self)
        }
        let port = try #require(
            line.split(separator: ":").last.flatMap { Int($0.prefix { $0.isNumber }) }, "no port in: \(line)")
        let load = try BinaryHarness.run(
            binary, ["load", "http://127.0.0.1:\(port)/plaintext", "-c", "4", "-n", "2000", "--json", "-"])
        #expect(load.status == 0, "\(load.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(load.stdout.utf8)) as! [String: Any]
        #expect(json["requests"] as? Int == 2000)
        #expect((json["rps"] as? Double ?? 0) > 0)
        #expect(json["seconds"] is Double)
        let latency = json["latency_us"] as! [String: Double]
        for key in ["p50", "p90", "p99", "p999", "max"] { #expect(latency[key] != nil, "missing latency_us.\(key)") }
        let errors = json["errors"] as! [String: Int]
        #expect(Set(errors.keys) == ["connect", "read", "write", "timeout", "bad_response"])
        #expect(errors.values.allSatisfy { $0 == 0 })
        #expect(load.stderr.contains("Requests/sec"))
    }

    @Test("a port in use is a clear error and a non-zero exit, for every stack")
    func portInUse() throws {
        let binary = try BinaryHarness.binary()
        let blocker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(blocker) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(blocker, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        listen(blocker, 1)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(blocker, $0, &length) }
        }
        let port = UInt16(bigEndian: addr.sin_port)
        for stack in ["ccore", "async", "threaded"] {
            let outcome = try BinaryHarness.run(
                binary, ["serve", "--stack", stack, "--port", String(port)], timeout: 10)
            #expect(outcome.status != 0, "\(stack) started on a port in use")
            #expect(outcome.stderr.contains("in use"), "\(stack): \(outcome.stderr)")
        }
    }

    @Test("bad arguments give a message and a non-zero exit")
    func badArguments() throws {
        let binary = try BinaryHarness.binary()
        let unknown = try BinaryHarness.run(binary, ["run", "--stack", "nope"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("unknown stack 'nope'"))
        let suite = try BinaryHarness.run(binary, ["run", "--suite", "nope"])
        #expect(suite.status != 0)
        #expect(suite.stderr.contains("unknown suite"))
        let url = try BinaryHarness.run(binary, ["load", "ftp://x"])
        #expect(url.status != 0)
        #expect(url.stderr.contains("not an http:// or https:// URL"))
        let help = try BinaryHarness.run(binary, ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("serve"))
    }

    @Test("a TLS instance that cannot start: failed rows in the table and the result, and exit 3")
    func failedRowsExitThree() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["cert.pem", "key.pem"] {
            try Data("-----BEGIN NOTHING-----\n".utf8).write(to: dir.appendingPathComponent(name))
        }
        let out = dir.appendingPathComponent("r.json").path
        let run = try BinaryHarness.run(
            binary,
            [
                "run", "--stack", "ccore", "--protocol", "h1,h2-tls", "--duration", "0.2s", "--warmup", "0s",
                "--repeat", "1",
                "-c", "4", "--cert", dir.appendingPathComponent("cert.pem").path, "--key",
                dir.appendingPathComponent("key.pem").path, "--out", out,
            ],
            timeout: 120)
        #expect(run.status == 3, "\(run.stdout)\n\(run.stderr)")
        #expect(run.stdout.contains("FAILED ccore basic/plaintext h2"), "\(run.stdout)")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out))) as! [String: Any]
        let rows = doc["measurements"] as! [[String: Any]]
        #expect(rows.filter { $0["failure"] != nil }.count == 4)
        #expect(rows.filter { $0["median"] != nil }.count == 4)
    }

    @Test("load against nothing reports connect errors and exits non-zero on time")
    func loadNothing() throws {
        let binary = try BinaryHarness.binary()
        let started = Date()
        let outcome = try BinaryHarness.run(
            binary, ["load", "http://127.0.0.1:1/", "-c", "2", "-d", "300ms", "--json", "-"])
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(outcome.status != 0)
        let json = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as! [String: Any]
        #expect(((json["errors"] as! [String: Int])["connect"] ?? 0) > 0)
    }

    @Test("Ctrl-C during a run writes partial results marked partial and exits non-zero")
    func interrupted() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("partial.json").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = ["run", "--duration", "1s", "--repeat", "3", "--out", path]
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        usleep(2_500_000)
        run.interrupt()
        run.waitUntilExit()
        #expect(run.terminationStatus == 130)
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        #expect(json["partial"] as? Bool == true)
        #expect((json["measurements"] as? [Any])?.isEmpty == false)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(leftovers == ["partial.json"])
    }

    @Test("SIGTERM during a run with a peer: the peer is stopped, partial results are written, exit 143")
    func terminated() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("partial.json").path
        let peerPID = dir.appendingPathComponent("peer.pid").path
        let run = Process()
        run.executableURL = URL(fileURLWithPath: binary)
        run.arguments = [
            "run", "--stack", "ccore", "--duration", "1s", "--repeat", "3", "--out", path,
            "--peer-cmd", "p=echo $$ > \(peerPID); exec \(binary) serve --stack threaded --port {port}",
        ]
        run.standardOutput = FileHandle.nullDevice
        run.standardError = FileHandle.nullDevice
        try run.run()
        // Into the peer's measurement: ccore's four workloads take about 14 s.
        var waited = 0
        while !FileManager.default.fileExists(atPath: peerPID) && waited < 300 {
            usleep(100_000)
            waited += 1
        }
        usleep(1_500_000)
        run.terminate()
        run.waitUntilExit()
        #expect(run.terminationStatus == 143)
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        #expect(json["partial"] as? Bool == true)
        let measurements = json["measurements"] as! [[String: Any]]
        #expect(measurements.contains { $0["server"] as? String == "ccore" })
        let pidText = try String(contentsOfFile: peerPID, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let pid = try #require(Int32(pidText))
        #expect(kill(pid, 0) != 0, "the peer outlived catbench's SIGTERM")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            !$0.hasSuffix(".logs") && $0 != "peer.pid"
        }
        #expect(leftovers == ["partial.json"], "a temporary file was left: \(leftovers)")
    }

    @Test(
        "on a terminal, run shows live progress and colours the table; elsewhere plain lines, and NO_COLOR is respected"
    )
    func progressOnATerminal() throws {
        let binary = try BinaryHarness.binary()
        let dir = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = "run --stack ccore --stack threaded --duration 300ms --warmup 0 --repeat 2 -c 8"
        // util-linux's script runs the command on a pseudo-terminal and keeps what it printed.
        let typescript = dir.appendingPathComponent("typescript").path
        let tty = try BinaryHarness.run(
            "/usr/bin/script", ["-qec", "\(binary) \(args) --out \(dir.path)/a.json", typescript],
            timeout: 120, environment: ["TERM": "xterm", "NO_COLOR": ""])
        #expect(tty.status == 0, "\(tty.stdout)")
        let screen = try String(contentsOfFile: typescript, encoding: .utf8)
        #expect(screen.contains("elapsed · ~"), "no status line: \(screen.prefix(400))")
        #expect(
            screen.contains(" of load left · ") && screen.contains(" req/s · ccore · basic/"), "\(screen.prefix(600))")
        #expect(screen.contains("\u{1B}[2K"), "the status line is redrawn in place")
        #expect(screen.contains("\u{1B}[1;32m"), "the best figure is coloured on a terminal")
        let noColour = try BinaryHarness.run(
            "/usr/bin/script", ["-qec", "\(binary) \(args) --out \(dir.path)/b.json", typescript],
            timeout: 120, environment: ["TERM": "xterm", "NO_COLOR": "1"])
        #expect(noColour.status == 0)
        #expect(
            !(try String(contentsOfFile: typescript, encoding: .utf8)).contains("\u{1B}[1;32m"),
            "NO_COLOR set, yet colour")
        let plain = try BinaryHarness.run(
            binary, args.split(separator: " ").map(String.init) + ["--out", "\(dir.path)/c.json"], timeout: 120)
        #expect(plain.status == 0)
        #expect(!plain.stderr.contains("\u{1B}") && !plain.stdout.contains("\u{1B}"), "escape codes outside a terminal")
        #expect(plain.stderr.contains("ccore basic/plaintext http/1.1 c8 #1: "), "\(plain.stderr)")
    }
}
