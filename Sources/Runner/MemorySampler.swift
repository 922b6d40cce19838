import Atomics
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// The peak of a server's memory while a load runs, on a thread of its own:
/// RSS every 50 ms, PSS (dearer for the kernel to count) every 200 ms.
final class MemorySampler: @unchecked Sendable {
    private let running = ManagedAtomic<Bool>(true)
    private let peakRSS = ManagedAtomic<UInt64>(0)
    private let peakPSS = ManagedAtomic<UInt64>(0)
    private var thread: PosixThread?

    init(read: @escaping @Sendable (_ proportional: Bool) -> (rss: UInt64?, pss: UInt64?)) {
        let running = self.running
        let peakRSS = self.peakRSS
        let peakPSS = self.peakPSS
        thread = try? PosixThread(name: "catbench-memory") {
            var tick = 0
            while running.load(ordering: .relaxed) {
                let now = read(tick % 4 == 0)
                if let bytes = now.rss, bytes > peakRSS.load(ordering: .relaxed) {
                    peakRSS.store(bytes, ordering: .relaxed)
                }
                if let bytes = now.pss, bytes > peakPSS.load(ordering: .relaxed) {
                    peakPSS.store(bytes, ordering: .relaxed)
                }
                tick += 1
                usleep(50_000)
            }
        }
    }

    /// Stops sampling; the peaks seen (nil where nothing could be read).
    @discardableResult
    func finish() -> (rss: UInt64?, pss: UInt64?)? {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
        let rss = peakRSS.load(ordering: .relaxed)
        let pss = peakPSS.load(ordering: .relaxed)
        return rss == 0 && pss == 0 ? nil : (rss > 0 ? rss : nil, pss > 0 ? pss : nil)
    }
}
