import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// Where and how one start of an external server happens.
public struct PeerLaunch: Sendable {
    /// The server's name in the run (`CATBENCH_PEER`: a variant's app reads
    /// which suites it serves from its manifest entry).
    public var name: String
    public var host: String
    public var port: UInt16
    public var workers: Int
    /// A private folder for the server's files (nginx's config, fixtures).
    public var scratch: String
    /// How to reach the run's services (`CATBENCH_UPSTREAM` → `host:port`, …).
    public var services: [String: String]

    public init(
        name: String, host: String, port: UInt16, workers: Int, scratch: String, services: [String: String] = [:]
    ) {
        self.name = name
        self.host = host
        self.port = port
        self.workers = workers
        self.scratch = scratch
        self.services = services
    }

    /// What every process of the server finds in its environment.
    public var environment: [String: String] {
        var env = [
            "CATBENCH_PEER": name, "CATBENCH_HOST": host, "CATBENCH_PORT": String(port),
            "CATBENCH_WORKERS": String(workers),
            "CATBENCH_SCRATCH": scratch, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1",
        ]
        env.merge(services) { mine, _ in mine }
        return env
    }
}

/// An external server to measure: a bundled framework app, a command the
/// user gives, or a server already running.
public struct PeerSpec: Sendable {
    public enum Kind: String, Sendable {
        /// One of the bundled framework apps, or nginx.
        case bundled = "peer"
        /// `--peer-cmd NAME=COMMAND`: started by catbench through /bin/sh.
        case command = "external-command"
        /// `--peer NAME=URL`: already running, not started or stopped by catbench.
        case running = "external-url"
    }

    public let name: String
    public let kind: Kind
    /// The configuration in words, recorded in the result.
    public let design: String
    /// Facts recorded in the result: versions, the command, the server.
    public var configuration: [String: String]
    /// "suite" or "suite/workload" → why it does not apply.
    public let notApplicable: [String: String]
    /// "suite/part" → why the server cannot express that part of the suite's
    /// checks; the checks still apply, less that part (see peers/README.md).
    public let waivers: [String: String]
    /// For a running server: where it is.
    public let address: (host: String, port: UInt16)?
    /// The suites a variant serves (its manifest's "serves"); nil: every suite.
    public internal(set) var serves: Set<String>? = nil
    let template: [String]
    let workingDirectory: String?
    let nginx: Bool

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The arguments that start the server for `launch` (empty for a running one);
    /// writes what the server needs first (nginx's configuration).
    public func arguments(for launch: PeerLaunch) throws -> [String] {
        if nginx { try NginxConfig.write(launch) }
        let values = [
            "{host}": launch.host, "{port}": String(launch.port), "{workers}": String(launch.workers),
            "{scratch}": launch.scratch,
        ]
        return template.map { argument in
            var out = argument
            for (key, value) in values { out = out.replacing(key, with: value) }
            return out
        }
    }

    public var workingDirectoryPath: String? { workingDirectory }

    /// A bundled peer by name, from the installation (which must be complete).
    public static func bundled(_ name: String, installation: PeerInstallation) throws -> PeerSpec {
        let manifest = try PeerManifest.bundled()
        guard let entry = manifest.entry(named: name) else {
            throw Invalid(
                description:
                    "unknown peer '\(name)'; bundled peers: \(manifest.peers.map(\.name).joined(separator: ", ")) (or NAME=http://HOST:PORT for a running server)"
            )
        }
        var configuration = ["server_configuration": entry.configuration]
        var template = entry.command
        if entry.kind == "nginx" {
            guard
                let nginx = Executables.find(
                    "nginx", extraFolders: ["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"])
            else {
                throw Invalid(
                    description:
                        "peer nginx: no nginx on the PATH or in /usr/sbin (on Debian or Ubuntu: apt-get install nginx)")
            }
            template = template.map { $0.replacing("{nginx}", with: nginx) }
            configuration["version"] = NginxConfig.version(of: nginx) ?? "unknown"
            configuration["package"] = "nginx"
        } else {
            guard let record = installation.record(), FileSystem.isExecutable(installation.python) else {
                throw Invalid(description: "peer \(name) is not installed; run `catbench peers install`")
            }
            template = template.map {
                $0.replacing("{python}", with: installation.python).replacing("{venv}", with: installation.venv)
            }
            configuration["package"] = entry.package
            configuration["version"] = record.packages[entry.package] ?? "unknown"
            configuration["python"] = record.pythonVersion
            configuration["requirements"] = manifest.requirements
            if !entry.libraries.isEmpty {
                configuration["libraries"] = entry.libraries.map { "\($0) \(record.packages[$0] ?? "unknown")" }
                    .joined(separator: ", ")
            }
        }
        configuration["command"] = entry.command.joined(separator: " ")
        if let serves = entry.serves { configuration["serves"] = serves.keys.sorted().joined(separator: ", ") }
        var spec = PeerSpec(
            name: entry.name, kind: .bundled, design: entry.configuration, configuration: configuration,
            notApplicable: entry.notApplicable, waivers: entry.waived, address: nil, template: template,
            workingDirectory: installation.workingDirectory(of: entry), nginx: entry.kind == "nginx")
        spec.serves = entry.serves.map { Set($0.keys) }
        return spec
    }

    /// Whether the server is run on `suite`: a variant only on the suites it serves.
    public func serves(_ suite: String) -> Bool { serves?.contains(suite) ?? true }

    /// `NAME=COMMAND`, run through /bin/sh; `{port}` (and `{host}`, `{workers}`,
    /// `{scratch}`) are replaced, and the same values are in the environment.
    public static func command(_ text: String) throws -> PeerSpec {
        let (name, command) = try split(text, what: "--peer-cmd", example: "myapp=python app.py --port {port}")
        guard command.contains("{port}") || command.contains("CATBENCH_PORT") else {
            throw Invalid(
                description:
                    "--peer-cmd '\(text)': the command must take its port from {port} (or $CATBENCH_PORT), which catbench chooses free"
            )
        }
        return PeerSpec(
            name: name, kind: .command, design: "started by catbench: \(command)", configuration: ["command": command],
            notApplicable: [:], waivers: [:], address: nil,
            template: ["/bin/sh", "-c", command], workingDirectory: nil, nginx: false)
    }

    /// `NAME=http://HOST:PORT`: a server already running.
    public static func running(_ text: String) throws -> PeerSpec {
        let (name, url) = try split(text, what: "--peer", example: "myapp=http://127.0.0.1:8000")
        guard url.hasPrefix("http://") else {
            throw Invalid(
                description:
                    "--peer \(text): the URL must be http://HOST:PORT (peers are measured over cleartext HTTP/1.1)")
        }
        var authority = url.dropFirst("http://".count)
        if let slash = authority.firstIndex(of: "/") { authority = authority[..<slash] }
        let host: String
        let portText: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            portText = authority[authority.index(after: close)...].drop { $0 == ":" }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            portText = authority[authority.index(after: colon)...]
        } else {
            host = String(authority)
            portText = "80"
        }
        guard !host.isEmpty, let port = UInt16(portText), port > 0 else {
            throw Invalid(description: "--peer \(text): cannot read a host and port from \(url)")
        }
        return PeerSpec(
            name: name, kind: .running, design: "already running at \(url)", configuration: ["url": url],
            notApplicable: [:], waivers: [:], address: (host, port), template: [], workingDirectory: nil,
            nginx: false)
    }

    static func split(_ text: String, what: String, example: String) throws -> (String, String) {
        guard let eq = text.firstIndex(of: "=") else {
            throw Invalid(description: "\(what) takes NAME=…, e.g. \(what) '\(example)'")
        }
        let name = String(text[..<eq])
        let rest = String(text[text.index(after: eq)...])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw Invalid(description: "\(what) '\(text)': the name must be letters, digits, '-', '_' or '.'")
        }
        guard !rest.isEmpty else { throw Invalid(description: "\(what) '\(text)': nothing after '='") }
        return (name, rest)
    }
}
