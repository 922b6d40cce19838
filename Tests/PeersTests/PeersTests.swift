import Accounting
import SuiteKit
import Suites
import Foundation
import Peers
import Posix
import Testing

@Suite("the bundled peers")
struct BundledPeersTests {
    static var peersFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("peers")
    }

    @Test("the files catbench carries are exactly those in peers/ (run scripts/embed-peers after a change)")
    func bundledFilesMatchTheFolder() throws {
        let names = try FileManager.default.subpathsOfDirectory(atPath: Self.peersFolder.path)
            .filter { !$0.contains("__pycache__") && !$0.hasSuffix(".pyc") }
            .filter { var dir: ObjCBool = false; FileManager.default.fileExists(atPath: Self.peersFolder.appendingPathComponent($0).path, isDirectory: &dir); return !dir.boolValue }
            .sorted()
        #expect(BundledPeerFiles.all.map(\.path) == names)
        for file in BundledPeerFiles.all {
            let onDisk = try String(contentsOf: Self.peersFolder.appendingPathComponent(file.path), encoding: .utf8)
            #expect(file.content == onDisk, "peers/\(file.path) changed since scripts/embed-peers ran")
        }
    }

    @Test("the manifest names every peer of the issue, each with a command, a package and valid not-applicable keys")
    func manifest() throws {
        let manifest = try PeerManifest.bundled()
        #expect(Set(manifest.peers.map(\.name)) == ["catzilla", "fastapi", "flask", "django", "aiohttp", "tornado", "nginx"])
        for entry in manifest.peers {
            #expect(!entry.command.isEmpty && !entry.configuration.isEmpty && !entry.package.isEmpty)
            let unknown = Exclusions(reasons: entry.notApplicable).unknownKeys(in: Catalog.contracts, workloadsOnly: true)
            #expect(unknown.isEmpty, "\(entry.name) declares n/a for \(unknown), which name nothing in the contract")
            if entry.kind == "python" {
                #expect(BundledPeerFiles.all.contains { entry.command.joined(separator: " ").contains($0.path.replacing(".py", with: "")) },
                        "\(entry.name)'s command names no bundled app file")
            }
        }
        let pins = BundledPeerFiles.all.first { $0.path == manifest.requirements }?.content ?? ""
        for package in manifest.pythonPackages {
            #expect(pins.lowercased().contains("\(package)=="), "\(package) is not pinned in \(manifest.requirements)")
        }
    }

    @Test("a broken manifest is a clear error")
    func brokenManifest() {
        #expect(throws: PeerManifest.Invalid.self) { try PeerManifest.parse(Array(#"{"schema": 2, "requirements": "r", "peers": []}"#.utf8)) }
        #expect(throws: PeerManifest.Invalid.self) {
            try PeerManifest.parse(Array(#"{"schema": 1, "requirements": "r", "peers": [{"name": "x", "kind": "java", "package": "x", "command": ["x"], "configuration": "c", "not_applicable": {}}]}"#.utf8))
        }
        #expect(throws: PeerManifest.Invalid.self) { try PeerManifest.parse(Array("not json".utf8)) }
    }

    @Test("an installation is keyed by the bundled files and lives under the cache folder given")
    func installationLocation() {
        let installation = PeerInstallation(cacheRoot: "/tmp/catbench-cache-test")
        #expect(installation.directory == "/tmp/catbench-cache-test/peers-\(BundledPeerFiles.digest)")
        #expect(installation.python.hasPrefix(installation.venv))
        #expect(!PeerInstallation(cacheRoot: "/nonexistent-\(UUID().uuidString)").isInstalled)
    }

    @Test("a bundled peer that is not installed says how to install it")
    func notInstalled() {
        let installation = PeerInstallation(cacheRoot: "/nonexistent-\(UUID().uuidString)")
        #expect { try PeerSpec.bundled("fastapi", installation: installation) } throws: { error in
            "\(error)".contains("catbench peers install")
        }
        #expect { try PeerSpec.bundled("rails", installation: installation) } throws: { error in
            "\(error)".contains("unknown peer 'rails'")
        }
    }
}

@Suite("external servers named on the command line")
struct PeerSpecTests {
    @Test("NAME=URL is a running server; bad ones are clear errors")
    func runningServer() throws {
        let spec = try PeerSpec.running("mine=http://127.0.0.1:8000")
        #expect(spec.name == "mine" && spec.address?.host == "127.0.0.1" && spec.address?.port == 8000 && spec.kind == .running)
        let v6 = try PeerSpec.running("v6=http://[::1]:9000/")
        #expect(v6.address?.host == "::1" && v6.address?.port == 9000)
        for bad in ["http://127.0.0.1:8000", "x=https://127.0.0.1:8000", "x=http://127.0.0.1:notaport", "bad name=http://h:1", "=http://h:1", "x="] {
            #expect(throws: PeerSpec.Invalid.self, "\(bad)") { try PeerSpec.running(bad) }
        }
    }

    @Test("NAME=COMMAND runs through /bin/sh with the port filled in, and must take the port")
    func command() throws {
        let spec = try PeerSpec.command("app=python3 app.py --port {port} --workers {workers}")
        let launch = PeerLaunch(host: "127.0.0.1", port: 4321, workers: 2, scratch: "/tmp/s", services: ["CATBENCH_UPSTREAM": "127.0.0.1:9"])
        #expect(try spec.arguments(for: launch) == ["/bin/sh", "-c", "python3 app.py --port 4321 --workers 2"])
        #expect(launch.environment["CATBENCH_PORT"] == "4321" && launch.environment["CATBENCH_UPSTREAM"] == "127.0.0.1:9")
        #expect { try PeerSpec.command("app=python3 app.py") } throws: { "\($0)".contains("{port}") }
    }
}

@Suite("child processes", .serialized)
struct ChildProcessTests {
    @Test("stop ends the whole process group, workers included, and reports how the leader ended")
    func stopsTheGroup() throws {
        let dir = try FileSystem.temporaryDirectory(prefix: "catbench-child-test")
        defer { FileSystem.removeTree(dir) }
        // A leader that forks two workers and waits, like gunicorn.
        let child = try ChildProcess.spawn(["/bin/sh", "-c", "sleep 300 & sleep 300 & echo started; wait"], logPath: "\(dir)/log")
        var members: [Int32] = []
        for _ in 0..<100 where members.count < 3 {
            usleep(20_000)
            members = ProcessTree(root: child.pid, group: child.pid).members()
        }
        #expect(members.count == 3)
        #expect(child.isRunning)
        let ended = child.stop(grace: 2)
        #expect(ended == .signalled(SIGTERM))
        #expect(!child.groupAlive)
        for pid in members { #expect(kill(pid, 0) != 0, "process \(pid) of the group outlived stop()") }
        #expect(child.logTail() == "started")
    }

    @Test("a child that ignores SIGTERM is killed after the grace period")
    func killsTheStubborn() throws {
        let child = try ChildProcess.spawn(["/bin/sh", "-c", "trap '' TERM; while :; do sleep 0.05; done"])
        usleep(100_000)
        let started = Date()
        let ended = child.stop(grace: 0.5)
        #expect(ended == .signalled(SIGKILL))
        #expect(Date().timeIntervalSince(started) < 3)
    }

    @Test("a program that does not exist is a clear error; an exit status is reported")
    func failures() throws {
        #expect { try ChildProcess.spawn(["/nonexistent/program"]) } throws: { "\($0)".contains("cannot start") }
        let child = try ChildProcess.spawn(["/bin/sh", "-c", "exit 3"])
        #expect(child.wait(seconds: 5) == .exited(3))
    }

    @Test("the tree's CPU time grows while it works and its memory is seen")
    func sampling() throws {
        let child = try ChildProcess.spawn(["/bin/sh", "-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 300"])
        defer { child.stop(grace: 1) }
        let tree = ProcessTree(root: child.pid, group: child.pid)
        let first = tree.sample()
        usleep(500_000)
        let second = tree.sample()
        #expect(second.cpuNanos > first.cpuNanos)
        #expect(second.rssBytes > 0 && second.processes >= 1)
    }

    @Test("the process listening on a port is found")
    func listeningProcess() throws {
        let fd = try Socket.listen(on: try SocketAddress(host: "127.0.0.1", port: 0))
        defer { close(fd) }
        #expect(ProcessTree.listening(port: Socket.localPort(of: fd)) == getpid())
    }
}
