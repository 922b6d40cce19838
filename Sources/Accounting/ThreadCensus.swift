#if canImport(Glibc)
    import Glibc
#endif

/// Every thread of this process with the CPU time it has run
/// (`/proc/self/task/<tid>/schedstat`, nanoseconds) and its name: to find
/// threads that worked during a load without being in the server's or the
/// load generator's group.
public enum ThreadCensus {
    public struct Entry: Sendable, Equatable {
        public let tid: Int32
        public let name: String
        public let cpuNanos: UInt64
    }

    public static func take() -> [Int32: Entry] {
        var out: [Int32: Entry] = [:]
        guard let dir = opendir("/proc/self/task") else { return out }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let tid = Int32(name) else { continue }
            let stat = read("/proc/self/task/\(tid)/schedstat")
            guard let cpu = stat.split(separator: " ").first.flatMap({ UInt64($0) }) else { continue }
            let comm = read("/proc/self/task/\(tid)/comm").split(separator: "\n").first.map(String.init) ?? "?"
            out[tid] = Entry(tid: tid, name: comm, cpuNanos: cpu)
        }
        return out
    }

    /// CPU each thread ran between two censuses (threads born in between count from zero).
    public static func delta(_ before: [Int32: Entry], _ after: [Int32: Entry]) -> [Entry] {
        after.values.map { now in
            Entry(tid: now.tid, name: now.name, cpuNanos: now.cpuNanos &- (before[now.tid]?.cpuNanos ?? 0))
        }
    }

    private static func read(_ path: String) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : ""
    }
}
