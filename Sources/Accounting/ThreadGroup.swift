import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// A side of a measurement — the server's threads or the load generator's —
/// with a jemalloc arena of its own and, optionally, CPUs of its own.
///
/// Each thread of the side calls `enter()` first thing; from then on its
/// allocations count in the group's arena and its CPU clock is summed by
/// `cpuNanos()`.
public final class ThreadGroup: @unchecked Sendable {
    public let name: String
    /// nil when jemalloc is not the allocator (counters are then not reported).
    public let arena: UInt32?
    public let cpus: [Int]?

    private var lock = pthread_mutex_t()
    private var clocks: [clockid_t] = []
    private var members: [Int32] = []

    public init(name: String, cpus: [Int]?) {
        self.name = name
        self.cpus = cpus
        arena = Jemalloc.version == nil ? nil : try? Jemalloc.createArena()
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// Moves the calling thread into this group.
    public func enter() {
        if let arena { try? Jemalloc.setThreadArena(arena) }
        if let cpus, !cpus.isEmpty { try? Affinity.pinCurrentThread(to: cpus) }
        var clock = clockid_t()
        let haveClock = pthread_getcpuclockid(pthread_self(), &clock) == 0
        let tid = currentThreadID()
        pthread_mutex_lock(&lock)
        if haveClock { clocks.append(clock) }
        members.append(tid)
        pthread_mutex_unlock(&lock)
    }

    /// The kernel ids of the threads that entered the group.
    public var threadIDs: [Int32] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return members
    }

    /// Threads that entered the group.
    public var threadCount: Int {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        return members.count
    }

    /// Summed CPU time (user + system) of the group's live threads.
    public func cpuNanos() -> UInt64 {
        pthread_mutex_lock(&lock)
        let clocks = self.clocks
        pthread_mutex_unlock(&lock)
        var total: UInt64 = 0
        for clock in clocks {
            var ts = timespec()
            if clock_gettime(clock, &ts) == 0 {
                total &+= UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
            }
        }
        return total
    }

    /// The arena's cumulative counters. The group's threads must have flushed
    /// their caches just before (see `Jemalloc`), or recent requests are missing.
    public func allocationCounters() -> AllocationCounters? {
        guard let arena else { return nil }
        Jemalloc.refreshStatistics()
        return Jemalloc.counters(ofArena: arena)
    }
}
