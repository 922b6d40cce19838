import FoundationEssentials

/// `peers/peers.json`: how each bundled framework server is started, how it
/// is configured (in words, for the result), which package's version to
/// record, and what it cannot do.
public struct PeerManifest: Decodable, Sendable {
    public let schema: Int
    public let requirements: String
    public let peers: [Entry]

    public struct Entry: Decodable, Sendable {
        /// `python` (an app in the virtual environment) or `nginx` (the system's nginx, configured by catbench).
        public let kind: String
        public let name: String
        public let package: String
        /// Arguments with placeholders: {python} {venv} {host} {port} {workers} {scratch} {nginx}.
        public let command: [String]
        public let configuration: String
        /// "suite", "suite/case" or "suite/check" → why it does not apply.
        public let notApplicable: [String: String]
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
        guard manifest.schema == 1 else { throw Invalid(description: "peers.json: schema \(manifest.schema), this catbench reads 1") }
        for entry in manifest.peers {
            guard ["python", "nginx"].contains(entry.kind) else {
                throw Invalid(description: "peers.json: peer \(entry.name) has unknown kind '\(entry.kind)'")
            }
            guard !entry.command.isEmpty else { throw Invalid(description: "peers.json: peer \(entry.name) has no command") }
        }
        return manifest
    }

    public func entry(named name: String) -> Entry? { peers.first { $0.name == name } }

    public var pythonPackages: [String] { peers.filter { $0.kind == "python" }.map(\.package) }
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
