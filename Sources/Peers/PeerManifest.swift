import FoundationEssentials

/// `peers/peers.json`: how each bundled framework server is started, how it
/// is configured (in words, for the result), which package's version to
/// record, and what it cannot do.
public struct PeerManifest: Decodable, Sendable {
    /// The manifest format this catbench reads.
    public static let schemaVersion = 2

    public let schema: Int
    public let requirements: String
    /// Contract suite name → the module that implements it in every Python
    /// peer's package; each peer's entry module mounts these, so a new suite
    /// is new modules plus one line here.
    public let suites: [String: String]
    /// Folders (relative to the installed apps) on every Python peer's module
    /// path, after the environment's own packages: the shared logic.
    public let pythonPath: [String]
    public let peers: [Entry]

    public struct Entry: Decodable, Sendable {
        /// `python` (an app in the virtual environment) or `nginx` (the system's nginx, configured by catbench).
        public let kind: String
        public let name: String
        public let package: String
        /// Python peers: the folder (relative to the installed apps) the
        /// peer runs in, its framework's package of entry and suite modules.
        public let directory: String?
        /// Further packages whose versions are recorded (the validation library).
        public let libraries: [String]
        /// Arguments with placeholders: {python} {venv} {host} {port} {workers} {scratch} {nginx}.
        public let command: [String]
        public let configuration: String
        /// "suite", "suite/case" or "suite/check" → why it does not apply.
        public let notApplicable: [String: String]
        /// "suite/part" → why the peer cannot express that part of a suite's
        /// checks (the check's status and meaning still apply).
        public let waived: [String: String]
        /// A variant's suites (suite → its module in the peer's package), when
        /// it serves only these: an ORM row beside the raw one. Nil: every suite.
        public let serves: [String: String]?

        enum CodingKeys: String, CodingKey {
            case kind, name, package, directory, libraries, command, configuration, notApplicable, waived, serves
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            kind = try c.decode(String.self, forKey: .kind)
            name = try c.decode(String.self, forKey: .name)
            package = try c.decode(String.self, forKey: .package)
            directory = try c.decodeIfPresent(String.self, forKey: .directory)
            libraries = try c.decodeIfPresent([String].self, forKey: .libraries) ?? []
            command = try c.decode([String].self, forKey: .command)
            configuration = try c.decode(String.self, forKey: .configuration)
            notApplicable = try c.decodeIfPresent([String: String].self, forKey: .notApplicable) ?? [:]
            waived = try c.decodeIfPresent([String: String].self, forKey: .waived) ?? [:]
            serves = try c.decodeIfPresent([String: String].self, forKey: .serves)
        }
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// The manifest catbench carries.
    public static func bundled() throws -> PeerManifest {
        guard let text = PeerFiles.files.first(where: { $0.path == "peers.json" })?.content else {
            throw Invalid(description: "the bundled peers have no peers.json")
        }
        return try parse(Array(text.utf8))
    }

    public static func parse(_ bytes: [UInt8]) throws -> PeerManifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let manifest: PeerManifest
        do {
            manifest = try decoder.decode(PeerManifest.self, from: Data(bytes))
        } catch {
            throw Invalid(description: "peers.json: \(error)")
        }
        guard manifest.schema == schemaVersion else {
            throw Invalid(description: "peers.json: schema \(manifest.schema), this catbench reads \(schemaVersion)")
        }
        for entry in manifest.peers {
            guard ["python", "nginx"].contains(entry.kind) else {
                throw Invalid(description: "peers.json: peer \(entry.name) has unknown kind '\(entry.kind)'")
            }
            guard !entry.command.isEmpty else {
                throw Invalid(description: "peers.json: peer \(entry.name) has no command")
            }
            if entry.kind == "python" {
                guard let directory = entry.directory, isRelativeFolder(directory) else {
                    throw Invalid(
                        description:
                            "peers.json: Python peer \(entry.name) needs a \"directory\" inside the apps folder")
                }
            }
            for (key, reason) in entry.waived {
                let parts = key.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, !reason.isEmpty else {
                    throw Invalid(
                        description:
                            "peers.json: peer \(entry.name) waives '\(key)'; a waiver is \"suite/part\": \"reason\"")
                }
            }
        }
        for entry in manifest.peers {
            guard let serves = entry.serves else { continue }
            guard !serves.isEmpty else {
                throw Invalid(
                    description: "peers.json: peer \(entry.name) serves no suite; leave \"serves\" out to serve all")
            }
            for (suite, module) in serves.sorted(by: { $0.key < $1.key }) {
                guard manifest.suites[suite] != nil, !module.isEmpty else {
                    throw Invalid(
                        description:
                            "peers.json: peer \(entry.name) serves '\(suite)' (module '\(module)'); \"serves\" maps a suite of \"suites\" to a module"
                    )
                }
            }
        }
        for folder in manifest.pythonPath where !isRelativeFolder(folder) {
            throw Invalid(description: "peers.json: python_path '\(folder)' must be a folder inside the apps folder")
        }
        return manifest
    }

    /// A relative path that stays inside the apps folder (no "..", not absolute).
    static func isRelativeFolder(_ path: String) -> Bool {
        !path.isEmpty && !path.hasPrefix("/") && !path.split(separator: "/").contains("..")
    }

    public func entry(named name: String) -> Entry? { peers.first { $0.name == name } }

    /// Every package whose version is recorded: the peers' frameworks and libraries, each once.
    public var pythonPackages: [String] {
        var seen = Set<String>()
        return peers.filter { $0.kind == "python" }.flatMap { [$0.package] + $0.libraries }
            .filter { seen.insert($0.lowercased()).inserted }
    }
}

/// The bundled files, for writing out and for the test that keeps them in
/// step with `peers/`.
public enum BundledPeerFiles {
    public static var all: [(path: String, content: String)] { PeerFiles.files }

    /// A digest of every bundled file: an installation is reused only when it
    /// was made from exactly these files.
    public static var digest: String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for file in PeerFiles.files {
            for b in file.path.utf8 + [0] + file.content.utf8 + [0] {
                h ^= UInt64(b)
                h = h &* 0x100_0000_01b3
            }
        }
        return String(h, radix: 16)
    }
}
