import CJemalloc
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// Allocations and bytes requested from the allocator.
public struct AllocationCounters: Sendable, Equatable {
    public var allocations: UInt64
    public var bytes: UInt64

    public init(allocations: UInt64 = 0, bytes: UInt64 = 0) {
        self.allocations = allocations
        self.bytes = bytes
    }

    public static func - (a: Self, b: Self) -> Self {
        Self(allocations: a.allocations &- b.allocations, bytes: a.bytes &- b.bytes)
    }
}

/// jemalloc, the allocator of the whole binary, read through `mallctl`.
///
/// Counting per arena: server threads and load-generator threads are put in
/// arenas of their own (`thread.arena`), so the arena's cumulative request
/// counts (`stats.arenas.<i>.bins.<j>.nrequests`, `…lextents.<j>.nrequests`)
/// are the allocations of that side alone. Thread caches merge their counts into
/// the arena only now and then, so every thread of the arena flushes its cache
/// (`thread.tcache.flush`) before a reading, and `epoch` is bumped to refresh
/// the statistics. Bytes are counted by size class (requests × class size),
/// which is what the allocator handed out.
public enum Jemalloc {
    /// True in sanitizer builds (CATBENCH_SANITIZE), where jemalloc is left
    /// out so that the sanitizer owns malloc; allocation counts are then not measured.
    public static let leftOutBySanitizers: Bool = {
        #if CATBENCH_SANITIZED
            return true
        #else
            return false
        #endif
    }()

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The jemalloc version string, or nil when malloc is not jemalloc.
    public static var version: String? {
        var ptr: UnsafePointer<CChar>? = nil
        var size = MemoryLayout<UnsafePointer<CChar>?>.size
        guard mallctl("version", &ptr, &size, nil, 0) == 0, let ptr else { return nil }
        return String(cString: ptr)
    }

    /// Cumulative bytes allocated by the calling thread (jemalloc's `thread.allocated`).
    public static func threadAllocatedBytes() -> UInt64 {
        read("thread.allocated", as: UInt64.self) ?? 0
    }

    /// A new arena, used by no thread until one moves into it.
    public static func createArena() throws -> UInt32 {
        guard let index = read("arenas.create", as: UInt32.self) else {
            throw Unavailable(description: "jemalloc refused arenas.create (errno \(errno))")
        }
        return index
    }

    /// Moves the calling thread (and its thread cache) to `arena`.
    public static func setThreadArena(_ arena: UInt32) throws {
        var value = arena
        let rc = mallctl("thread.arena", nil, nil, &value, MemoryLayout<UInt32>.size)
        guard rc == 0 else { throw Unavailable(description: "thread.arena \(arena) failed (\(rc))") }
    }

    public static func currentThreadArena() -> UInt32? {
        read("thread.arena", as: UInt32.self)
    }

    /// Returns the calling thread's cached objects to its arena and merges the
    /// cache's request counts into the arena statistics.
    public static func flushThreadCache() {
        // A StaticString's bytes are passed as they are: converting a String
        // to a C string would itself allocate on the thread being measured.
        let name: StaticString = "thread.tcache.flush"
        name.withUTF8Buffer { utf8 in
            utf8.baseAddress!.withMemoryRebound(to: CChar.self, capacity: utf8.count + 1) {
                _ = mallctl($0, nil, nil, nil, 0)
            }
        }
    }

    /// Refreshes the statistics snapshot that `stats.*` reads return.
    public static func refreshStatistics() {
        var newEpoch: UInt64 = 1
        _ = mallctl("epoch", nil, nil, &newEpoch, MemoryLayout<UInt64>.size)
    }

    /// Cumulative allocation requests and bytes of one arena, as of the last
    /// `refreshStatistics()`.
    public static func counters(ofArena arena: UInt32) -> AllocationCounters {
        let classes = SizeClasses.shared
        var total = AllocationCounters()
        var mib = classes.binRequestsMIB
        mib[2] = Int(arena)
        for (j, size) in classes.binSizes.enumerated() {
            mib[4] = j
            let n = readMIB(mib)
            total.allocations &+= n
            total.bytes &+= n &* UInt64(size)
        }
        var lmib = classes.largeRequestsMIB
        lmib[2] = Int(arena)
        for (j, size) in classes.largeSizes.enumerated() {
            lmib[4] = j
            let n = readMIB(lmib)
            total.allocations &+= n
            total.bytes &+= n &* UInt64(size)
        }
        return total
    }

    /// Cumulative requests of one small size class (`binSize` bytes exactly)
    /// in `arena`, as of the last `refreshStatistics()`; nil when no bin has that size.
    public static func requests(ofArena arena: UInt32, binSize: Int) -> UInt64? {
        let classes = SizeClasses.shared
        guard let j = classes.binSizes.firstIndex(of: binSize) else { return nil }
        var mib = classes.binRequestsMIB
        mib[2] = Int(arena)
        mib[4] = j
        return readMIB(mib)
    }

    /// The sizes of the small classes (thread-cached, counted per bin).
    public static var binSizes: [Int] { SizeClasses.shared.binSizes }

    static func read<T>(_ name: String, as type: T.Type) -> T? {
        let value = UnsafeMutablePointer<T>.allocate(capacity: 1)
        defer { value.deallocate() }
        var size = MemoryLayout<T>.size
        guard mallctl(name, value, &size, nil, 0) == 0 else { return nil }
        return value.pointee
    }

    static func mib(_ name: String) -> [Int] {
        var mib = [Int](repeating: 0, count: 8)
        var length = mib.count
        guard mallctlnametomib(name, &mib, &length) == 0 else { return [] }
        return Array(mib.prefix(length))
    }

    private static func readMIB(_ mib: [Int]) -> UInt64 {
        var value: UInt64 = 0
        var size = MemoryLayout<UInt64>.size
        let rc = mib.withUnsafeBufferPointer { mallctlbymib($0.baseAddress, $0.count, &value, &size, nil, 0) }
        return rc == 0 ? value : 0
    }
}

/// jemalloc's size classes and the MIBs of their counters, looked up once.
struct SizeClasses: Sendable {
    let binSizes: [Int]
    let largeSizes: [Int]
    let binRequestsMIB: [Int]
    let largeRequestsMIB: [Int]

    static let shared = SizeClasses()

    private init() {
        let nbins = Int(Jemalloc.read("arenas.nbins", as: UInt32.self) ?? 0)
        let nlextents = Int(Jemalloc.read("arenas.nlextents", as: UInt32.self) ?? 0)
        var binSizes: [Int] = []
        for j in 0..<nbins {
            binSizes.append(Jemalloc.read("arenas.bin.\(j).size", as: Int.self) ?? 0)
        }
        var largeSizes: [Int] = []
        for j in 0..<nlextents {
            largeSizes.append(Jemalloc.read("arenas.lextent.\(j).size", as: Int.self) ?? 0)
        }
        self.binSizes = binSizes
        self.largeSizes = largeSizes
        binRequestsMIB = Jemalloc.mib("stats.arenas.0.bins.0.nrequests")
        largeRequestsMIB = Jemalloc.mib("stats.arenas.0.lextents.0.nrequests")
    }
}
