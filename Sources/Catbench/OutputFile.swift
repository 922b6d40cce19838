#if canImport(Glibc)
import Glibc
#endif

/// Files written whole or not at all: a temporary file beside the target,
/// renamed over it once complete, so a crash or Ctrl-C never leaves half a result.
enum OutputFile {
    struct WriteError: Error, CustomStringConvertible {
        let description: String
    }

    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        if !directory.isEmpty { try makeDirectories(directory) }
        let temporary = "\(path).tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw WriteError(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, bytes.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                let message = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw WriteError(description: "cannot write \(temporary): \(message)")
            }
            offset += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else {
            let message = String(cString: strerror(errno))
            unlink(temporary)
            throw WriteError(description: "cannot rename \(temporary) to \(path): \(message)")
        }
    }

    static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current += (current.isEmpty || current.hasSuffix("/") ? "" : "/") + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw WriteError(description: "cannot create directory \(current): \(String(cString: strerror(errno)))")
            }
        }
    }

    static func standardError(_ text: String) {
        var text = text
        if !text.hasSuffix("\n") { text += "\n" }
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func standardOutput(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    }
}
