#if canImport(Glibc)
    import Glibc
#endif

/// Figures of the running process and the machine, read from /proc.
public enum ProcessStats {
    /// Resident set size of this process in bytes.
    public static func residentBytes(pid: Int32? = nil) -> UInt64? {
        let path = pid.map { "/proc/\($0)/statm" } ?? "/proc/self/statm"
        guard let text = readSmallFile(path) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Proportional set size: resident memory with each shared page divided
    /// among the processes sharing it (`Pss` of /proc/PID/smaps_rollup, Linux
    /// 4.14+), so that a server's processes add up to the memory they really
    /// hold. Nil when the kernel or permissions do not tell.
    public static func proportionalBytes(pid: Int32? = nil) -> UInt64? {
        let path = pid.map { "/proc/\($0)/smaps_rollup" } ?? "/proc/self/smaps_rollup"
        guard let text = readSmallFile(path) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("Pss:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kilobytes = UInt64(fields[1]) else { return nil }
            return kilobytes * 1024
        }
        return nil
    }

    /// Unique set size: the resident pages no other process shares
    /// (`Private_Clean` + `Private_Dirty` of /proc/PID/smaps_rollup), what the
    /// process adds to the machine's memory. Nil when the kernel or
    /// permissions do not tell.
    public static func privateBytes(pid: Int32) -> UInt64? {
        guard let text = readSmallFile("/proc/\(pid)/smaps_rollup") else { return nil }
        var kilobytes: UInt64 = 0
        var seen = 0
        for line in text.split(separator: "\n")
        where line.hasPrefix("Private_Clean:") || line.hasPrefix("Private_Dirty:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let value = UInt64(fields[1]) else { return nil }
            kilobytes += value
            seen += 1
        }
        return seen == 2 ? kilobytes * 1024 : nil
    }

    /// The 1-, 5- and 15-minute load averages.
    public static func loadAverage() -> [Double] {
        guard let text = readSmallFile("/proc/loadavg") else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    /// Reads a small text file (a /proc entry) whole; nil when it cannot.
    public static func readSmallFile(_ path: String, limit: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while bytes.count < limit {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                bytes.append(contentsOf: chunk[0..<n])
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
