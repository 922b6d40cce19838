import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// What a reader needs to know about the machine a result came from.
public struct MachineInfo: Codable, Sendable {
    public var cpuModel: String
    public var logicalCPUs: Int
    public var availableCPUs: [Int]
    public var kernel: String
    public var memoryBytes: UInt64
    public var hostname: String

    public static func current() -> MachineInfo {
        var model = "unknown"
        if let cpuinfo = ProcessStats.readSmallFile("/proc/cpuinfo") {
            for line in cpuinfo.split(separator: "\n") where line.hasPrefix("model name") {
                if let colon = line.firstIndex(of: ":") {
                    model = line[line.index(after: colon)...].trimmingCharacters()
                }
                break
            }
        }
        var memory: UInt64 = 0
        if let meminfo = ProcessStats.readSmallFile("/proc/meminfo") {
            for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
                let kb = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
                memory = kb * 1024
            }
        }
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let sysname = withUnsafeBytes(of: names.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: names.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let host = withUnsafeBytes(of: names.nodename) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        return MachineInfo(
            cpuModel: model,
            logicalCPUs: Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))),
            availableCPUs: Affinity.availableCPUs(),
            kernel: "\(sysname) \(release) \(machine)",
            memoryBytes: memory,
            hostname: host
        )
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
