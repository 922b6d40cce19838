import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// Files written whole or not at all: a temporary file beside the target,
/// renamed over it once complete, so a crash or Ctrl-C never leaves half a result.
enum OutputFile {
    static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        try FileSystem.writeAtomically(bytes, to: path)
    }

    static func makeDirectories(_ path: String) throws {
        try FileSystem.makeDirectories(path)
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
