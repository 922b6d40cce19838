import ArgumentParser
import Peers
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The bundled external framework servers: install them, list them.
struct PeersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "peers",
        abstract: "The bundled framework servers (Catzilla, FastAPI, Flask, Django, aiohttp, Tornado, nginx).",
        subcommands: [PeersInstallCommand.self, PeersListCommand.self])
}

struct PeersInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract:
            "Write the peer apps under the cache folder and install their pinned packages in a virtual environment.")

    @Option(help: "Python to build the environment with (default: $CATBENCH_PYTHON or python3).")
    var python: String?

    @Option(help: "Cache folder (default: $CATBENCH_CACHE, $XDG_CACHE_HOME/catbench or ~/.cache/catbench).")
    var cache: String?

    func run() throws {
        let installation = PeerInstallation(cacheRoot: cache)
        do {
            try installation.install(python: python) { OutputFile.standardError($0) }
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

struct PeersListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Each bundled peer: its server configuration, the installed version, what it cannot do.")

    @Option(help: "Cache folder (default: $CATBENCH_CACHE, $XDG_CACHE_HOME/catbench or ~/.cache/catbench).")
    var cache: String?

    func run() throws {
        let manifest = try PeerManifest.bundled()
        let installation = PeerInstallation(cacheRoot: cache)
        let record = installation.record()
        var out =
            "installation: \(installation.directory) (\(record == nil ? "not installed: run `catbench peers install`" : "installed, Python \(record!.pythonVersion)"))\n"
        for entry in manifest.peers {
            let version: String
            if entry.kind == "nginx" {
                version =
                    Executables.find("nginx", extraFolders: ["/usr/sbin", "/usr/local/sbin"]) != nil
                    ? "system nginx" : "nginx not found"
            } else {
                version = record?.packages[entry.package].map { "\(entry.package) \($0)" } ?? "not installed"
            }
            out += "\(entry.name): \(version) — \(entry.configuration)\n"
            if let serves = entry.serves {
                out += "  serves only: \(serves.keys.sorted().joined(separator: ", "))\n"
            }
            for (key, reason) in entry.notApplicable.sorted(by: { $0.key < $1.key }) {
                out += "  n/a \(key): \(reason)\n"
            }
        }
        OutputFile.standardOutput(out)
    }
}

/// Turns `--peer` and `--peer-cmd` into servers to run, installing the
/// bundled peers first when they are not installed yet.
enum PeerChoice {
    /// The servers to run, and the bundled peers that cannot run here (not
    /// installable, nginx missing) with the reason: those are reported as
    /// failed to start while the run goes on with the others. A variant that
    /// serves none of `suites` (an ORM row, on a run without the database
    /// suite) is left out of `all`, and is an error when named.
    static func resolve(peers: [String], commands: [String], python: String?, quiet: Bool, suites: [String]) throws
        -> (specs: [PeerSpec], unavailable: [(name: String, reason: String)])
    {
        let manifest = try PeerManifest.bundled()
        func servesRun(_ entry: PeerManifest.Entry) -> Bool {
            entry.serves.map { !Set($0.keys).isDisjoint(with: suites) } ?? true
        }
        var bundledNames: [String] = []
        var specs: [PeerSpec] = []
        for value in peers {
            if value.contains("=") {
                specs.append(try wrap { try PeerSpec.running(value) })
            } else if value == "all" {
                bundledNames += manifest.peers.filter(servesRun).map(\.name)
            } else {
                guard let entry = manifest.entry(named: value) else {
                    throw ValidationError(
                        "unknown peer '\(value)'; bundled peers: \(manifest.peers.map(\.name).joined(separator: ", ")), or all, or NAME=http://HOST:PORT"
                    )
                }
                guard servesRun(entry) else {
                    let served = (entry.serves ?? [:]).keys.sorted().joined(separator: ", ")
                    throw ValidationError(
                        "peer \(value) serves only the \(served) suite (a variant row); add --suite \(served) or choose another peer"
                    )
                }
                bundledNames.append(value)
            }
        }
        let installation = PeerInstallation()
        var unavailable: [(name: String, reason: String)] = []
        var installFailure: String?
        let needsPython = bundledNames.contains { manifest.entry(named: $0)?.kind == "python" }
        if needsPython && !installation.isInstalled {
            if !quiet {
                OutputFile.standardError("catbench: the peers are not installed yet; installing them now (once)")
            }
            do {
                try installation.install(python: python) { line in if !quiet { OutputFile.standardError(line) } }
            } catch {
                installFailure = "the peers could not be installed: \(error)"
                OutputFile.standardError("catbench: \(installFailure!)")
            }
        }
        var seen = Set<String>()
        for name in bundledNames where seen.insert(name).inserted {
            if let installFailure, manifest.entry(named: name)?.kind == "python" {
                unavailable.append((name, installFailure))
                continue
            }
            do {
                specs.append(try PeerSpec.bundled(name, installation: installation))
            } catch {
                unavailable.append((name, "\(error)"))
            }
        }
        for command in commands {
            specs.append(try wrap { try PeerSpec.command(command) })
        }
        return (specs, unavailable)
    }

    private static func wrap(_ body: () throws -> PeerSpec) throws -> PeerSpec {
        do {
            return try body()
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
