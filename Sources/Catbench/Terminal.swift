#if canImport(Glibc)
    import Glibc
#endif

/// Whether to colour what goes to a stream: only a terminal, and never when
/// NO_COLOR is set to anything but the empty string (no-color.org).
enum Terminal {
    static var colourOnStandardOutput: Bool { colour(fd: 1) }

    static func colour(fd: Int32) -> Bool {
        if let value = getenv("NO_COLOR"), value.pointee != 0 { return false }
        if let term = getenv("TERM"), String(cString: term) == "dumb" { return false }
        return isatty(fd) == 1
    }
}
