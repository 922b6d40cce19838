import Posix
import SuiteKit
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The files suite's served folder: files of 1 KiB to 10 MiB generated from
/// a fixed seed (the same bytes for every server and every run), all with
/// one fixed modification time, plus what the checks need — a file the
/// checks change on disk, a file outside the folder and a symbolic link to
/// it from inside.
public enum StaticFolder {
    /// A served file: its name beneath the folder and its size.
    public struct File: Sendable {
        public let name: String
        public let size: Int
        public let mediaType: String
    }

    public static let tiny = File(name: "1k.txt", size: 1024, mediaType: "text/plain")
    public static let page = File(name: "page.html", size: 4096, mediaType: "text/html")
    public static let style = File(name: "css/site.css", size: 2048, mediaType: "text/css")
    public static let medium = File(name: "16k.bin", size: 16 * 1024, mediaType: "application/octet-stream")
    public static let large = File(name: "256k.bin", size: 256 * 1024, mediaType: "application/octet-stream")
    public static let mega = File(name: "1m.bin", size: 1 << 20, mediaType: "application/octet-stream")
    public static let huge = File(name: "10m.bin", size: 10 << 20, mediaType: "application/octet-stream")
    public static let files = [tiny, page, style, medium, large, mega, huge]
    /// Rewritten by a check (new bytes, a later time): a server must serve the new file at once.
    public static let mutable = File(name: "mutable.bin", size: 8192, mediaType: "application/octet-stream")
    /// Next to the served folder, and linked from inside it as `outsideLink`: never to be served.
    public static let secretName = "secret.txt"
    public static let outsideLink = "outside.txt"
    public static let secretText = "catbench-secret-outside-the-served-folder"

    /// Every file's modification time: 2026-01-01T00:00:00Z.
    public static let modified: Int = 1_767_225_600
    public static let modifiedDate = "Thu, 01 Jan 2026 00:00:00 GMT"

    /// The bytes of `file`: text for .txt/.html/.css (so their types are honest), else any byte.
    public static func content(_ file: File) -> [UInt8] {
        if let cached = cache.withLock({ $0[file.name] }) { return cached }
        var random = SeededRandom(seed: 0x5EED_F11E ^ UInt64(truncatingIfNeeded: file.name.utf8.count * 7919))
        for b in file.name.utf8 { random = SeededRandom(seed: random.next() ^ UInt64(b)) }
        var bytes = [UInt8](repeating: 0, count: file.size)
        let textual = file.mediaType.hasPrefix("text/")
        bytes.withUnsafeMutableBytes { raw in
            var i = 0
            while i < raw.count {
                var word = random.next()
                for _ in 0..<8 where i < raw.count {
                    let b = UInt8(truncatingIfNeeded: word)
                    // Text: letters, spaces and a newline every 64 bytes.
                    raw[i] = textual ? (i % 64 == 63 ? 10 : (b % 5 == 0 ? 32 : 97 + b % 26)) : b
                    word >>= 8
                    i += 1
                }
            }
        }
        cache.withLock { $0[file.name] = bytes }
        return bytes
    }

    private static let cache = Mutex<[String: [UInt8]]>([:])

    /// Writes the folder `root/public` (and the secret beside it); returns the public folder.
    static func make(in root: String) throws -> String {
        let folder = root + "/public"
        try FileSystem.makeDirectories(folder + "/css")
        // Readable by a server that drops its privileges (nginx's workers run as nobody under root).
        for path in [root, folder, folder + "/css"] { chmod(path, 0o755) }
        for file in files + [mutable] { try write(content(file), to: folder + "/" + file.name, time: modified) }
        try write(Array(secretText.utf8), to: root + "/" + secretName, time: modified)
        guard symlink("../" + secretName, folder + "/" + outsideLink) == 0 else {
            throw ServiceFailure(
                description: "cannot make a symbolic link in \(folder): \(String(cString: strerror(errno)))")
        }
        return folder
    }

    /// Writes `bytes` to `path` (replacing it by a rename) with the modification time `time`.
    static func write(_ bytes: [UInt8], to path: String, time: Int) throws {
        try FileSystem.writeAtomically(bytes, to: path)
        chmod(path, 0o644)
        var times = [timespec(tv_sec: time, tv_nsec: 0), timespec(tv_sec: time, tv_nsec: 0)]
        guard utimensat(AT_FDCWD, path, &times, 0) == 0 else {
            throw ServiceFailure(description: "cannot set the time of \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// The served folder, made once per run in a scratch folder and removed
/// after it. External servers find it in `CATBENCH_STATIC_DIR`.
public final class StaticFolderService: SuiteService, @unchecked Sendable {
    public static let serviceName = "static folder"
    public let root: String
    /// The folder servers serve (`root/public`).
    public let folder: String
    public let address: Posix.SocketAddress
    private let changes = Mutex(0)

    private init(root: String, folder: String) throws {
        self.root = root
        self.folder = folder
        address = try Posix.SocketAddress(host: "127.0.0.1", port: 0)
    }

    public static func start() throws -> StaticFolderService {
        let root: String
        do {
            root = try FileSystem.temporaryDirectory(prefix: "catbench-files")
        } catch { throw ServiceFailure(description: "cannot make a scratch folder for the static files: \(error)") }
        do {
            return try StaticFolderService(root: root, folder: try StaticFolder.make(in: root))
        } catch {
            FileSystem.removeTree(root)
            throw error
        }
    }

    public var environment: [String: String] { ["CATBENCH_STATIC_DIR": folder] }
    public var location: String { folder }

    /// Rewrites the mutable file with new bytes and a later time; returns them.
    public func changeMutable() throws -> [UInt8] {
        let n = changes.withLock { value -> Int in
            value += 1
            return value
        }
        var random = SeededRandom(seed: UInt64(n) &* 0x9E37_79B9 ^ UInt64(UInt(bitPattern: time(nil))))
        let bytes = (0..<StaticFolder.mutable.size).map { _ in UInt8.random(in: 0...255, using: &random) }
        // A later second each time, so a validator made of seconds changes too.
        try StaticFolder.write(
            bytes, to: folder + "/" + StaticFolder.mutable.name, time: StaticFolder.modified + 3600 * n)
        return bytes
    }

    public func stop() { FileSystem.removeTree(root) }
}
