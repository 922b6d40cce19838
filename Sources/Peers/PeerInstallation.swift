import FoundationEssentials
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The bundled peer apps written out under the user's cache folder, with a
/// virtual environment holding the pinned packages. One installation per
/// set of bundled files: a catbench with other apps or pins installs anew.
public struct PeerInstallation: Sendable {
    /// `…/catbench/peers-<digest>`.
    public let directory: String
    public var appDirectory: String { "\(directory)/app" }
    public var venv: String { "\(directory)/venv" }
    public var python: String { "\(venv)/bin/python" }
    var marker: String { "\(directory)/installed.json" }

    /// Where a bundled peer runs: its framework's folder of the apps (nil for
    /// nginx, which catbench configures by absolute paths). Python puts that
    /// folder first on the module path, so it holds only the peer's own modules,
    /// never a folder named like a package (`flask/` in it would hide Flask).
    public func workingDirectory(of entry: PeerManifest.Entry) -> String? {
        guard entry.kind == "python", let folder = entry.directory else { return nil }
        return "\(appDirectory)/\(folder)"
    }

    /// The `.pth` file that puts the manifest's `python_path` folders (the
    /// shared logic) on the environment's module path, after its own packages,
    /// so a shared module can never hide an installed one.
    static let pathFileName = "catbench-peers.pth"

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The installation for the bundled files under `cacheRoot` (default:
    /// `$CATBENCH_CACHE`, else `$XDG_CACHE_HOME/catbench`, else `~/.cache/catbench`).
    public init(cacheRoot: String? = nil) {
        directory = "\(cacheRoot ?? Self.defaultCacheRoot())/peers-\(BundledPeerFiles.digest)"
    }

    public static func defaultCacheRoot() -> String {
        func env(_ name: String) -> String? {
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
            return value
        }
        if let explicit = env("CATBENCH_CACHE") { return explicit }
        if let xdg = env("XDG_CACHE_HOME") { return "\(xdg)/catbench" }
        if let home = env("HOME") { return "\(home)/.cache/catbench" }
        return "/tmp/catbench-cache-\(getuid())"
    }

    /// What `installed.json` records: the interpreter and the version of every peer package.
    public struct Record: Codable, Sendable {
        public var python: String
        public var pythonVersion: String
        public var packages: [String: String]
    }

    public var isInstalled: Bool { record() != nil && FileSystem.isExecutable(python) }

    public func record() -> Record? {
        guard let bytes = FileSystem.read(marker) else { return nil }
        return try? JSONDecoder().decode(Record.self, from: Data(bytes))
    }

    /// Writes the apps, makes the virtual environment and installs the pinned
    /// packages, showing pip's progress through `log`. Safe to repeat.
    public func install(python requested: String? = nil, log: @escaping (String) -> Void) throws {
        let manifest = try PeerManifest.bundled()
        let interpreter = try Self.findPython(requested)
        log("peers: installing into \(directory) with \(interpreter)")
        try FileSystem.makeDirectories(appDirectory)
        for file in BundledPeerFiles.all {
            let path = "\(appDirectory)/\(file.path)"
            if let slash = path.lastIndex(of: "/") { try FileSystem.makeDirectories(String(path[..<slash])) }
            try FileSystem.writeAtomically(Array(file.content.utf8), to: path)
        }
        unlink(marker)

        if !FileSystem.isExecutable(python) {
            log("peers: creating the virtual environment")
            try run(
                [interpreter, "-m", "venv", venv], what: "creating a virtual environment",
                hint: "on Debian or Ubuntu: apt-get install python3-venv")
        }
        log("peers: installing \(manifest.requirements) (pip's output follows)")
        try run(
            [
                python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "-r",
                "\(appDirectory)/\(manifest.requirements)",
            ],
            what: "installing the peer packages", hint: "pip needs to reach PyPI (or a mirror set in PIP_INDEX_URL)",
            showOutput: true)

        // The shared folders, on the module path of every process of the environment
        // (gunicorn's workers, the CPU pools' processes) whatever its working directory.
        let pathFile = """
            import os, sys, sysconfig
            folders = [os.path.join(sys.argv[2], f) for f in sys.argv[3:]]
            with open(os.path.join(sysconfig.get_paths()["purelib"], sys.argv[1]), "w") as pth:
                pth.write("".join(f + "\\n" for f in folders))
            """
        try run(
            [python, "-c", pathFile, Self.pathFileName, appDirectory] + manifest.pythonPath,
            what: "putting the shared peer logic on the module path", hint: nil)

        // Versions as installed, recorded in every result.
        let script = """
            import importlib.metadata as m, json, platform, sys
            names = sys.argv[2:]
            versions = {n: m.version(n) for n in names}
            json.dump({"python": sys.executable, "python_version": platform.python_version(), "packages": versions}, open(sys.argv[1], "w"))
            """
        let scratch = "\(marker).new"
        try run(
            [python, "-c", script, scratch] + manifest.pythonPackages, what: "reading the installed versions", hint: nil
        )
        guard let bytes = FileSystem.read(scratch) else {
            throw Failure(description: "the installed versions were not written")
        }
        // Re-encode with our own keys: the marker is ours to read back.
        struct Raw: Decodable { let python: String; let python_version: String; let packages: [String: String] }
        let raw = try JSONDecoder().decode(Raw.self, from: Data(bytes))
        let record = Record(python: raw.python, pythonVersion: raw.python_version, packages: raw.packages)
        try FileSystem.writeAtomically(Array(try JSONEncoder().encode(record)), to: marker)
        unlink(scratch)
        removeOtherInstallations(log: log)
        log(
            "peers: installed "
                + record.packages.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
    }

    /// Installations made from other bundled files (an older catbench) take
    /// hundreds of MB each; a new one replaces them.
    private func removeOtherInstallations(log: (String) -> Void) {
        guard let slash = directory.lastIndex(of: "/") else { return }
        let parent = String(directory[..<slash])
        let mine = String(directory[directory.index(after: slash)...])
        guard let dir = opendir(parent) else { return }
        var others: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasPrefix("peers-") && name != mine { others.append(name) }
        }
        closedir(dir)
        for name in others {
            log("peers: removing the older installation \(parent)/\(name)")
            FileSystem.removeTree("\(parent)/\(name)")
        }
    }

    /// Runs one installer step; its output goes to a log whose end is shown on failure.
    private func run(_ arguments: [String], what: String, hint: String?, showOutput: Bool = false) throws {
        let logPath = "\(directory)/install.log"
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                arguments, environment: ["PIP_PROGRESS_BAR": "off"], logPath: showOutput ? nil : logPath,
                ownGroup: false)
        } catch {
            throw Failure(description: "\(what) failed: \(error)")
        }
        let ended = child.wait()
        guard ended == .exited(0) else {
            var message =
                "\(what) failed: \(arguments.prefix(3).joined(separator: " ")) \(ended.map { "\($0)" } ?? "did not end")"
            let tail = showOutput ? "" : child.logTail(lines: 15)
            if !tail.isEmpty { message += "\n" + tail }
            if let hint { message += "\n(\(hint))" }
            throw Failure(description: message)
        }
    }

    /// The Python to build the environment with: the one asked for,
    /// `$CATBENCH_PYTHON`, or `python3` on the PATH.
    static func findPython(_ requested: String?) throws -> String {
        let wanted = requested ?? getenv("CATBENCH_PYTHON").map { String(cString: $0) } ?? "python3"
        if wanted.contains("/") {
            guard FileSystem.isExecutable(wanted) else { throw Failure(description: "Python not found at \(wanted)") }
            return wanted
        }
        guard let found = Executables.find(wanted) else {
            throw Failure(
                description:
                    "Python 3 is needed for the peers and '\(wanted)' is not on the PATH (on Debian or Ubuntu: apt-get install python3 python3-venv; or pass --python PATH)"
            )
        }
        return found
    }
}

/// Programs looked up on the PATH (and the sbin folders, where nginx lives).
public enum Executables {
    public static func find(_ name: String, extraFolders: [String] = []) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":").map(String.init) + extraFolders {
            let candidate = "\(folder)/\(name)"
            if FileSystem.isExecutable(candidate) { return candidate }
        }
        return nil
    }
}
