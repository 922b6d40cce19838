import Accounting
import SuiteKit
import Suites
import Foundation
import Peers
import Posix
import Testing
#if canImport(Glibc)
    import Glibc
#endif

@Suite("the bundled peers")
struct BundledPeersTests {
    static var peersFolder: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
            .appendingPathComponent("peers")
    }

    @Test("the files catbench carries are exactly those in peers/ (run scripts/embed-peers after a change)")
    func bundledFilesMatchTheFolder() throws {
        let names = try FileManager.default.subpathsOfDirectory(atPath: Self.peersFolder.path)
            .filter { !$0.contains("__pycache__") && !$0.hasSuffix(".pyc") }
            .filter {
                var dir: ObjCBool = false;
                FileManager.default.fileExists(
                    atPath: Self.peersFolder.appendingPathComponent($0).path, isDirectory: &dir);
                return !dir.boolValue
            }
            .sorted()
        #expect(BundledPeerFiles.all.map(\.path) == names)
        for file in BundledPeerFiles.all {
            let onDisk = try String(contentsOf: Self.peersFolder.appendingPathComponent(file.path), encoding: .utf8)
            #expect(file.content == onDisk, "peers/\(file.path) changed since scripts/embed-peers ran")
        }
    }

    static var bundledPaths: Set<String> { Set(BundledPeerFiles.all.map(\.path)) }

    @Test("the manifest names every peer of the issue, each with a command, a package and valid not-applicable keys")
    func manifest() throws {
        let manifest = try PeerManifest.bundled()
        #expect(
            Set(manifest.peers.map(\.name))
                == [
                    "catzilla", "catzilla-sqlalchemy", "fastapi", "fastapi-sqlalchemy", "flask", "flask-cerberus",
                    "flask-sqlalchemy", "django", "django-orm", "aiohttp", "tornado", "nginx",
                ])
        for entry in manifest.peers {
            #expect(!entry.command.isEmpty && !entry.configuration.isEmpty && !entry.package.isEmpty)
            let unknown = Exclusions(reasons: entry.notApplicable).unknownKeys(
                in: Catalog.contracts, workloadsOnly: true)
            #expect(unknown.isEmpty, "\(entry.name) declares n/a for \(unknown), which name nothing in the contract")
            for module in (entry.serves ?? [:]).values {
                #expect(
                    Self.bundledPaths.contains("\(entry.directory ?? "")/suites/\(module).py"),
                    "\(entry.name) serves a module its folder lacks: \(module)")
            }
        }
        let pins = BundledPeerFiles.all.first { $0.path == manifest.requirements }?.content.lowercased() ?? ""
        for package in manifest.pythonPackages {
            #expect(
                pins.contains("\n\(package.lowercased())=="),
                "\(package) is not pinned in \(manifest.requirements)")
        }
    }

    @Test("every Python peer runs in its own folder, whose entry module the command names")
    func entryModules() throws {
        let manifest = try PeerManifest.bundled()
        for entry in manifest.peers where entry.kind == "python" {
            let folder = try #require(entry.directory)
            // `app.py`, or a module:attribute as gunicorn and uvicorn take it (`app:create_app()`, `wsgi:application`).
            let modules = entry.command.compactMap { argument -> String? in
                if argument.hasSuffix(".py") { return String(argument.dropLast(3)) }
                guard let colon = argument.firstIndex(of: ":"), !argument.hasPrefix("{") else { return nil }
                return String(argument[..<colon])
            }
            #expect(
                modules.count == 1 && Self.bundledPaths.contains("\(folder)/\(modules.first ?? "").py"),
                "\(entry.name)'s command names no entry module in \(folder)/: \(entry.command)")
        }
    }

    @Test("the manifest's suites are the contract's, and every Python peer has a module for each")
    func suiteModules() throws {
        let manifest = try PeerManifest.bundled()
        #expect(Set(manifest.suites.keys) == Set(Catalog.names))
        for entry in manifest.peers where entry.kind == "python" {
            for module in manifest.suites.values {
                #expect(
                    Self.bundledPaths.contains("\(entry.directory ?? "")/suites/\(module).py"),
                    "\(entry.name) has no suites/\(module).py")
            }
        }
    }

    @Test("no folder on a peer's module path holds a module named like an installed package")
    func noShadowing() throws {
        let manifest = try PeerManifest.bundled()
        let pins = BundledPeerFiles.all.first { $0.path == manifest.requirements }?.content ?? ""
        func normalized(_ name: some StringProtocol) -> String {
            name.lowercased().replacing("-", with: "_").replacing(".py", with: "")
        }
        var packages = Set(
            pins.split(separator: "\n").filter { !$0.hasPrefix("#") && $0.contains("==") }
                .map { normalized($0.prefix { $0 != "=" && $0 != "[" }) })
        packages.formUnion(manifest.pythonPackages.map(normalized))
        // The peers' folders (flask/, django/, …) must never be on the path themselves: their parent is not.
        packages.formUnion(manifest.peers.compactMap(\.directory).map(normalized))
        #expect(!manifest.pythonPath.contains { $0 == "." || $0.isEmpty })
        let folders = Set(manifest.peers.compactMap(\.directory)).union(manifest.pythonPath)
        for folder in folders {
            let topLevel = Set(
                BundledPeerFiles.all.map(\.path).filter { $0.hasPrefix(folder + "/") }
                    .map { normalized($0.dropFirst(folder.count + 1).prefix { $0 != "/" }) })
            #expect(
                topLevel.isDisjoint(with: packages),
                "\(folder)/ holds \(topLevel.intersection(packages).sorted()), which would hide installed packages")
        }
    }

    @Test("waivers are read from the manifest: Catzilla and msgspec name the validation part they cannot express")
    func waivers() throws {
        let manifest = try PeerManifest.bundled()
        let suites = Set(Catalog.names)
        for entry in manifest.peers {
            for (key, reason) in entry.waived {
                #expect(suites.contains(String(key.prefix { $0 != "/" })), "\(entry.name) waives \(key) of no suite")
                #expect(!reason.isEmpty)
            }
        }
        let waiving = manifest.peers.filter { !$0.waived.isEmpty }.map(\.name)
        #expect(Set(waiving) == ["catzilla", "aiohttp", "flask", "flask-cerberus", "django", "tornado"])
        #expect(manifest.entry(named: "catzilla")?.waived.keys.sorted() == ["validation/error-paths"])
        #expect(manifest.entry(named: "flask")?.waived.keys.sorted() == ["files/symlinks"])
        #expect(
            manifest.entry(named: "catzilla")?.notApplicable.keys.sorted() == [
                "files/static-304", "files/static-mix", "files/static-range",
            ])
    }

    @Test("a broken manifest is a clear error")
    func brokenManifest() {
        func manifest(schema: Int = 2, pythonPath: String = #"["shared"]"#, peer: String) -> [UInt8] {
            let top =
                #""schema": \#(schema), "requirements": "r", "suites": {"database": "database"}, "python_path": \#(pythonPath)"#
            return Array("{\(top), \"peers\": [\(peer)]}".utf8)
        }
        let good =
            #"{"name": "x", "kind": "python", "package": "x", "directory": "x", "command": ["x"], "#
            + #""configuration": "c"}"#
        func with(_ field: String) -> String { good.replacing(#""c"}"#, with: #""c", \#(field)}"#) }
        #expect(throws: Never.self) { try PeerManifest.parse(manifest(peer: good)) }
        let bad: [(String, [UInt8])] = [
            ("an old schema", manifest(schema: 1, peer: good)),
            ("an unknown kind", manifest(peer: good.replacing(#""python""#, with: #""java""#))),
            ("a Python peer without a folder", manifest(peer: good.replacing(#""directory": "x", "#, with: ""))),
            (
                "a folder outside the apps",
                manifest(peer: good.replacing(#""directory": "x""#, with: #""directory": "../x""#))
            ),
            ("a module path outside the apps", manifest(pythonPath: #"["/usr/lib"]"#, peer: good)),
            ("a waiver without its part", manifest(peer: with(#""waived": {"validation": "r"}"#))),
            ("a waiver without a reason", manifest(peer: with(#""waived": {"validation/error-paths": ""}"#))),
            ("not JSON", Array("not json".utf8)),
            ("a variant serving no suite", manifest(peer: with(#""serves": {}"#))),
            ("a variant serving an unknown suite", manifest(peer: with(#""serves": {"cache": "cache_orm"}"#))),
            ("a variant serving a suite without a module", manifest(peer: with(#""serves": {"database": ""}"#))),
        ]
        for (what, bytes) in bad {
            #expect(throws: PeerManifest.Invalid.self, "\(what)") { try PeerManifest.parse(bytes) }
        }
        let waived = try? PeerManifest.parse(manifest(peer: with(#""waived": {"validation/error-paths": "r"}"#)))
        #expect(waived?.peers.first?.waived == ["validation/error-paths": "r"])
        #expect(waived?.peers.first?.notApplicable == [:] && waived?.peers.first?.libraries == [])
        #expect(waived?.peers.first?.serves == nil)
        let variant = try? PeerManifest.parse(manifest(peer: with(#""serves": {"database": "database_orm"}"#)))
        #expect(variant?.peers.first?.serves == ["database": "database_orm"])
    }

    /// An installation that looks complete: the marker and an executable interpreter.
    static func fakeInstallation(packages: [String: String]) throws -> (PeerInstallation, String) {
        let root = try FileSystem.temporaryDirectory(prefix: "catbench-peers-test")
        let installation = PeerInstallation(cacheRoot: root)
        try FileSystem.makeDirectories("\(installation.venv)/bin")
        try FileSystem.writeAtomically(Array("#!/bin/sh\n".utf8), to: installation.python)
        chmod(installation.python, 0o755)
        // What the installer writes once pip is done (PeerInstallation.Record).
        let record: [String: Any] = ["python": installation.python, "pythonVersion": "3.11.7", "packages": packages]
        try FileSystem.writeAtomically(
            Array(try JSONSerialization.data(withJSONObject: record)),
            to: "\(installation.directory)/installed.json")
        return (installation, root)
    }

    @Test("a bundled peer runs in its folder of the apps, with its waivers and its libraries' versions")
    func bundledSpec() throws {
        let (installation, root) = try Self.fakeInstallation(packages: [
            "catzilla": "0.2.3", "flask": "3.1.3",
            "marshmallow": "4.4.0", "cerberus": "1.3.8",
        ])
        defer { FileSystem.removeTree(root) }
        #expect(installation.isInstalled)
        let catzilla = try PeerSpec.bundled("catzilla", installation: installation)
        #expect(catzilla.workingDirectoryPath == "\(installation.appDirectory)/catzilla")
        #expect(catzilla.waivers.keys.sorted() == ["validation/error-paths"] && catzilla.notApplicable.count == 3)
        let cerberus = try PeerSpec.bundled("flask-cerberus", installation: installation)
        #expect(
            cerberus.workingDirectoryPath == "\(installation.appDirectory)/flask"
                && cerberus.waivers.keys.sorted() == ["files/symlinks"])
        #expect(cerberus.configuration["version"] == "3.1.3" && cerberus.configuration["libraries"] == "cerberus 1.3.8")
        let launch = PeerLaunch(name: "x", host: "127.0.0.1", port: 4321, workers: 2, scratch: "/tmp/s")
        #expect(try cerberus.arguments(for: launch).contains("app:create_app(validator='cerberus')"))
        #expect(cerberus.serves == nil && cerberus.serves("basic") && cerberus.serves("database"))
        for name in ["flask-sqlalchemy", "fastapi-sqlalchemy", "catzilla-sqlalchemy", "django-orm"] {
            let variant = try PeerSpec.bundled(name, installation: installation)
            #expect(variant.serves == ["database"] && !variant.serves("basic"), "\(name)")
            #expect(variant.configuration["serves"] == "database", "\(name)")
        }
        #expect(try PeerSpec.running("x=http://127.0.0.1:1").waivers.isEmpty)
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
        #expect(
            spec.name == "mine" && spec.address?.host == "127.0.0.1" && spec.address?.port == 8000
                && spec.kind == .running)
        let v6 = try PeerSpec.running("v6=http://[::1]:9000/")
        #expect(v6.address?.host == "::1" && v6.address?.port == 9000)
        for bad in [
            "http://127.0.0.1:8000", "x=https://127.0.0.1:8000", "x=http://127.0.0.1:notaport", "bad name=http://h:1",
            "=http://h:1", "x=",
        ] {
            #expect(throws: PeerSpec.Invalid.self, "\(bad)") { try PeerSpec.running(bad) }
        }
    }

    @Test("NAME=COMMAND runs through /bin/sh with the port filled in, and must take the port")
    func command() throws {
        let spec = try PeerSpec.command("app=python3 app.py --port {port} --workers {workers}")
        let launch = PeerLaunch(
            name: "app", host: "127.0.0.1", port: 4321, workers: 2, scratch: "/tmp/s",
            services: ["CATBENCH_UPSTREAM": "127.0.0.1:9"]
        )
        #expect(try spec.arguments(for: launch) == ["/bin/sh", "-c", "python3 app.py --port 4321 --workers 2"])
        #expect(
            launch.environment["CATBENCH_PORT"] == "4321" && launch.environment["CATBENCH_UPSTREAM"] == "127.0.0.1:9"
                && launch.environment["CATBENCH_PEER"] == "app")
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
        let child = try ChildProcess.spawn(
            ["/bin/sh", "-c", "sleep 300 & sleep 300 & echo started; wait"], logPath: "\(dir)/log")
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
        let child = try ChildProcess.spawn([
            "/bin/sh", "-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done; sleep 300",
        ])
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
