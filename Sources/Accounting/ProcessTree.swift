#if canImport(Glibc)
    import Glibc
#endif

/// CPU time and memory of an external server: every process of its group
/// (gunicorn's master and workers, uvicorn's supervisor) and every
/// descendant, read from /proc.
public struct ProcessTree: Sendable {
    /// The process that was started (or found listening on the server's port).
    public let root: Int32
    /// Its process group, when catbench made it a group leader.
    public let group: Int32?

    public init(root: Int32, group: Int32? = nil) {
        self.root = root
        self.group = group
    }

    public struct Sample: Sendable {
        /// User and system CPU time of the live processes, in nanoseconds
        /// (the kernel counts in clock ticks, 10 ms on most systems).
        public var cpuNanos: UInt64
        /// Resident memory summed over the processes (a page shared by two
        /// processes counts twice, as `ps` and `top` count it).
        public var rssBytes: UInt64
        /// Proportional set size summed over the processes: shared pages
        /// counted once in all. Nil unless asked for, or when unreadable.
        public var pssBytes: UInt64?
        public var processes: Int
    }

    /// The pids that belong to the server now.
    public func members() -> [Int32] {
        let all = Self.allProcesses()
        var children: [Int32: [Int32]] = [:]
        for p in all { children[p.parent, default: []].append(p.pid) }
        var found = Set<Int32>()
        var stack = [root]
        while let pid = stack.popLast() {
            guard found.insert(pid).inserted else { continue }
            stack += children[pid] ?? []
        }
        if let group { for p in all where p.group == group { found.insert(p.pid) } }
        return found.filter { pid in all.contains { $0.pid == pid } }.sorted()
    }

    /// CPU and memory now; `proportional` also sums PSS, which costs the
    /// kernel a walk of every process's page tables.
    public func sample(proportional: Bool = false) -> Sample {
        let ticks = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        var out = Sample(cpuNanos: 0, rssBytes: 0, pssBytes: proportional ? 0 : nil, processes: 0)
        for pid in members() {
            guard let stat = Self.stat(pid) else { continue }
            out.cpuNanos += (stat.userTicks + stat.systemTicks) * 1_000_000_000 / ticks
            out.rssBytes += ProcessStats.residentBytes(pid: pid) ?? 0
            if proportional {
                if let pss = ProcessStats.proportionalBytes(pid: pid), let sum = out.pssBytes {
                    out.pssBytes = sum + pss
                } else {
                    out.pssBytes = nil
                }
            }
            out.processes += 1
        }
        return out
    }

    /// CPU time of every thread of the tree in nanoseconds, from the
    /// scheduler's own account (`/proc/PID/task/TID/schedstat`), where
    /// `sample()` has clock ticks (10 ms): for short spans of many small
    /// processes, a database's backends. Falls back to ticks for a process
    /// whose schedstat cannot be read.
    public func preciseCPUNanos() -> UInt64 {
        let ticks = UInt64(max(1, sysconf(Int32(_SC_CLK_TCK))))
        var total: UInt64 = 0
        for pid in members() {
            var found = false
            if let tasks = opendir("/proc/\(pid)/task") {
                while let entry = readdir(tasks) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                    }
                    guard Int32(name) != nil,
                        let text = ProcessStats.readSmallFile("/proc/\(pid)/task/\(name)/schedstat"),
                        let first = text.split(separator: " ").first, let nanos = UInt64(first)
                    else { continue }
                    total += nanos
                    found = true
                }
                closedir(tasks)
            }
            if !found, let stat = Self.stat(pid) {
                total += (stat.userTicks + stat.systemTicks) * 1_000_000_000 / ticks
            }
        }
        return total
    }

    struct Stat {
        var pid: Int32
        var parent: Int32
        var group: Int32
        var userTicks: UInt64
        var systemTicks: UInt64
    }

    /// /proc/PID/stat, parsed after the command name (which may hold spaces and parentheses).
    static func stat(_ pid: Int32) -> Stat? {
        guard let text = ProcessStats.readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else {
            return nil
        }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After ")": state(0) ppid(1) pgrp(2) session(3) tty(4) tpgid(5) flags(6)
        // minflt(7) cminflt(8) majflt(9) cmajflt(10) utime(11) stime(12).
        guard fields.count > 12, let parent = Int32(fields[1]), let group = Int32(fields[2]),
            let user = UInt64(fields[11]), let system = UInt64(fields[12])
        else { return nil }
        return Stat(pid: pid, parent: parent, group: group, userTicks: user, systemTicks: system)
    }

    static func allProcesses() -> [Stat] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var out: [Stat] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), let stat = stat(pid) else { continue }
            out.append(stat)
        }
        return out
    }

    /// The process listening on TCP `port` (IPv4 or IPv6), found through the
    /// socket's inode in /proc/net/tcp and the processes' open descriptors;
    /// nil when it is not visible (another user's, or none).
    public static func listening(port: UInt16) -> Int32? {
        var inodes = Set<String>()
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = ProcessStats.readSmallFile(table, limit: 8 << 20) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(separator: " ")
                // local_address(1) rem_address(2) st(3) … inode(9); st 0A is LISTEN.
                guard f.count > 9, f[3] == "0A", let colon = f[1].lastIndex(of: ":"),
                    UInt16(f[1][f[1].index(after: colon)...], radix: 16) == port
                else { continue }
                inodes.insert(String(f[9]))
            }
        }
        guard !inodes.isEmpty else { return nil }
        var owners: [Int32] = []
        for process in allProcesses() {
            let fdDir = "/proc/\(process.pid)/fd"
            guard let dir = opendir(fdDir) else { continue }
            defer { closedir(dir) }
            var buffer = [CChar](repeating: 0, count: 256)
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
                guard name.first?.isNumber == true else { continue }
                let n = readlink("\(fdDir)/\(name)", &buffer, buffer.count - 1)
                guard n > 0 else { continue }
                let target = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if target.hasPrefix("socket:["), inodes.contains(String(target.dropFirst(8).dropLast())) {
                    owners.append(process.pid)
                    break
                }
            }
        }
        // Forked workers share the listening socket: the root is the one whose parent is not an owner.
        return owners.first { pid in
            guard let parent = stat(pid)?.parent else { return false }
            return !owners.contains(parent)
        } ?? owners.first
    }
}
