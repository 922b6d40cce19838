import Accounting
import Posix
import Atomics
import Testing
#if canImport(Glibc)
    import Glibc
#endif

@Suite("jemalloc accounting", .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out"))
struct JemallocTests {
    @Test("jemalloc is the allocator: allocating from Swift moves its counters")
    func swiftAllocationsGoThroughJemalloc() throws {
        #expect(Jemalloc.version != nil, "malloc is not jemalloc")
        let before = Jemalloc.threadAllocatedBytes()
        let array = [Int](repeating: 7, count: 1_000_000)
        let after = Jemalloc.threadAllocatedBytes()
        #expect(array.count == 1_000_000)
        // 8 MB of Int storage; jemalloc may round up to its size class.
        #expect(after - before >= 8_000_000)
        #expect(after - before < 9_000_000)
    }

    @Test("a thread group's arena counts exactly the allocations of its threads")
    func arenaCountsAreExactAfterFlush() throws {
        let group = ThreadGroup(name: "test", cpus: nil)
        #expect(group.arena != nil)
        let perThread = 10_000
        // Spinning on an atomic, unlike a semaphore, allocates nothing on the measured thread.
        let phase = ManagedAtomic<Int>(0)
        @Sendable func wait(for value: Int) { while phase.load(ordering: .acquiring) != value { sched_yield() } }
        let worker = try PosixThread(name: "alloc") {
            group.enter()
            Jemalloc.flushThreadCache()
            phase.store(1, ordering: .releasing)
            wait(for: 2)
            // Allocate and free one size over and over: without the flush the
            // thread cache would serve all of these without telling the arena.
            for i in 0..<perThread {
                let p = UnsafeMutableRawPointer.allocate(byteCount: 48, alignment: 8)
                p.storeBytes(of: i, as: Int.self)
                p.deallocate()
            }
            Jemalloc.flushThreadCache()
            phase.store(3, ordering: .releasing)
        }
        wait(for: 1)
        let before = try #require(group.allocationCounters())
        phase.store(2, ordering: .releasing)
        wait(for: 3)
        let after = try #require(group.allocationCounters())
        worker.join()
        let delta = after - before
        #expect(delta.allocations == UInt64(perThread))
        #expect(delta.bytes == UInt64(perThread * 48))
    }
}
