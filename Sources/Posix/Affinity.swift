import CPosix
#if canImport(Glibc)
    import Glibc
#endif

/// CPU affinity of the calling thread.
public enum Affinity {
    /// CPUs this process may run on, in ascending order.
    public static func availableCPUs() -> [Int] {
        var buffer = [Int32](repeating: 0, count: 1024)
        let n = cposix_available_cpus(&buffer, buffer.count)
        if n == 0 { return Array(0..<max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))) }
        return buffer.prefix(n).map(Int.init)
    }

    /// Pins the calling thread to `cpus`.
    public static func pinCurrentThread(to cpus: [Int]) throws {
        let list = cpus.map(Int32.init)
        let rc = cposix_pin_thread(list, list.count)
        guard rc == 0 else { throw PosixError("sched_setaffinity", code: rc) }
    }
}
