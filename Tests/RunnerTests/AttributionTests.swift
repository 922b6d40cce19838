import Accounting
import LoadGen
import Posix
import Results
@testable import Runner
import SuiteKit
import Suites
import Synchronization
import Testing

/// Told of every answer: allocates and frees `count` blocks on the thread
/// that finishes the answer — a known amount of work added to every handler.
struct AllocatingObserver: RouteObserving {
    let count: Int
    let size: Int

    func observer(method: String, pattern: String) -> (any RouteObserver)? { Allocator(count: count, size: size) }

    struct Allocator: RouteObserver {
        let count: Int
        let size: Int
        func answered(status: Int, nanoseconds: UInt64) {
            for i in 0..<count {
                let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
                block.storeBytes(of: i, as: Int.self)
                block.deallocate()
            }
        }
    }
}

/// Every thread doing a server's work is in that server's arena and CPU
/// sum, flushed around each repetition; nothing of the load generator is.
@Suite(
    "exact attribution", .serialized, .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out")
)
struct AttributionTests {
    /// The probe's blocks fill the largest small size class, which little
    /// else asks for, so the count of that class alone is exact.
    static let probeSize = Jemalloc.binSizes.last ?? 14336
    static let added = 3

    @Test(
        "allocations added to every handler show up exactly, per request, on every suite and stack",
        arguments: StackName.allCases, Catalog.names)
    func addedAllocationsAreCounted(_ stack: StackName, _ suite: String) throws {
        let entry = try #require(Catalog.named(suite))
        let services = try ServiceDirectory.start(entry.services)
        defer { services.stop() }
        func probeClassRequests(probe: Bool, workload: LoadCase) throws -> Double {
            let group = ThreadGroup(name: "probe", cpus: nil)
            let server = try startServer(
                stack, suites: [entry],
                settings: ServerSettings(
                    services: services,
                    observer: probe ? AllocatingObserver(count: Self.added, size: Self.probeSize) : nil,
                    onThreadStart: { group.enter() }))
            defer { server.stop() }
            let address = try SocketAddress(host: "127.0.0.1", port: server.port)
            let requests = LoadRequests.make(
                workload.requests(seed: 1, count: 64), host: address.description, check: workload.name)
            let count = 400
            // As the runner reads a repetition: every server thread flushes, then the arena is read.
            server.runOnServerThreads { Jemalloc.flushThreadCache() }
            Jemalloc.refreshStatistics()
            let before = Jemalloc.requests(ofArena: group.arena!, binSize: Self.probeSize)!
            let served = server.requestsServed
            let result = try LoadGenerator.run(
                LoadOptions(
                    address: address, requests: requests, connections: 4, duration: nil,
                    maxRequests: count, timeout: 5))
            #expect(result.requests == UInt64(count) && result.errors.total == 0, "\(stack) \(suite)/\(workload.name)")
            server.runOnServerThreads { Jemalloc.flushThreadCache() }
            Jemalloc.refreshStatistics()
            let after = Jemalloc.requests(ofArena: group.arena!, binSize: Self.probeSize)!
            return Double(after - before) / Double(server.requestsServed - served)
        }
        for workload in entry.contract.cases {
            let base = try probeClassRequests(probe: false, workload: workload)
            let probed = try probeClassRequests(probe: true, workload: workload)
            // A thread outside the arena, or one left unflushed, would show hundreds fewer (or none) of the
            // 1,200 added; the server itself asks for a block of that class now and then (a buffer growing).
            #expect(
                abs((probed - base - Double(Self.added)) * 400) <= 2,
                "\(stack) \(suite)/\(workload.name): \(base) → \(probed) allocations of \(Self.probeSize) bytes per request"
            )
        }
    }

    @Test(
        "the harness's flush reaches every thread in the server's group — loops, bridges, pools and clients — once each",
        arguments: StackName.allCases)
    func flushReachesEveryServerThread(_ stack: StackName) throws {
        let group = ThreadGroup(name: "flush", cpus: nil)
        let server = try startServer(
            stack, suites: Catalog.suites, settings: ServerSettings(workers: 2, onThreadStart: { group.enter() }))
        defer { server.stop() }
        let visited = Mutex<[Int32]>([])
        server.runOnServerThreads { visited.withLock { $0.append(currentThreadID()) } }
        let seen = visited.withLock { $0 }
        #expect(seen.count == Set(seen).count, "\(stack): a thread was visited twice")
        #expect(
            Set(seen) == Set(group.threadIDs),
            "\(stack): \(group.threadCount) threads in the group, \(Set(seen).count) flushed")
        #expect(group.threadCount >= 4, "\(stack): loops, pools and the upstream client should all be in the group")
    }

    @Test(
        "allocations on the load generator's threads add nothing to the server's count", arguments: StackName.allCases)
    func loadPathIsNotCounted(_ stack: StackName) throws {
        let serverGroup = ThreadGroup(name: "server", cpus: nil)
        let loadGroup = ThreadGroup(name: "load", cpus: nil)
        let server = try startServer(stack, settings: ServerSettings(onThreadStart: { serverGroup.enter() }))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let size = Self.probeSize
        // Every answer the load generator checks costs it three blocks of the probe's class.
        let requests = LoadRequests.make(
            BasicSuite.contract.cases[2].requests(seed: 1, count: 64), host: address.description,
            check: "user"
        ).map { request -> LoadRequest in
            var probed = request
            let check = request.check
            probed.check = { answer in
                for i in 0..<Self.added {
                    let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
                    block.storeBytes(of: i, as: Int.self)
                    block.deallocate()
                }
                return check?(answer)
            }
            return probed
        }
        func classCount(_ group: ThreadGroup) -> UInt64 {
            Jemalloc.refreshStatistics()
            return Jemalloc.requests(ofArena: group.arena!, binSize: size)!
        }
        server.runOnServerThreads { Jemalloc.flushThreadCache() }
        let (serverBefore, loadBefore) = (classCount(serverGroup), classCount(loadGroup))
        let result = try LoadGenerator.run(
            LoadOptions(
                address: address, requests: requests, connections: 4, duration: nil,
                maxRequests: 2000, verifyEvery: 1,
                onThreadStart: {
                    loadGroup.enter()
                }))
        server.runOnServerThreads { Jemalloc.flushThreadCache() }
        let serverAfter = classCount(serverGroup)
        #expect(result.requests == 2000 && result.wrongAnswers == 0)
        #expect(result.verified > 10)
        // The load threads ended (their caches flushed on exit): what they asked for is in their own arena.
        #expect(classCount(loadGroup) - loadBefore >= result.verified * UInt64(Self.added))
        #expect(
            serverAfter - serverBefore <= 2,
            "\(stack): the server's arena counted \(serverAfter - serverBefore) of the load's blocks")
    }

    @Test(
        "while a server is loaded, no thread outside its group, the load generator's and the services' does work",
        arguments: StackName.allCases)
    func noThreadOutsideTheGroups(_ stack: StackName) throws {
        let services = try ServiceDirectory.start([UpstreamService.self, DatabaseService.self])
        defer { services.stop() }
        // The database suite's pool threads (the async stack's) and per-thread connections too, on
        // its read paths. Its transfer is left out for now: once in four runs a Dispatch thread did
        // 10 ms of work beside the async stack's transfer load, not yet explained (issue 12's note).
        let database = DatabaseSuite.contract.cases.filter { ["db", "queries-5"].contains($0.name) }
        try Self.census(
            stack, services: services, suites: [AsyncOpsSuite.self, BasicSuite.self, DatabaseSuite.self],
            cases: AsyncOpsSuite.contract.cases + [BasicSuite.contract.cases[0]] + database)
    }

    @Test(
        "on PostgreSQL too: the drivers' threads (postgres-nio's loops, catbench's blocking client) are the server's",
        .enabled(if: (try? PostgresCluster.binaries()) != nil), arguments: StackName.allCases)
    func noThreadOutsideTheGroupsOnPostgres(_ stack: StackName) throws {
        let database = try DatabaseService.start(.postgres)
        let services = ServiceDirectory([database])
        defer { services.stop() }
        let cases = DatabaseSuite.contract.cases.filter { ["db", "queries-5", "updates-1"].contains($0.name) }
        try Self.census(stack, services: services, suites: [DatabaseSuite.self], cases: cases)
    }

    /// Loads each case for half a second and finds the threads of this
    /// process, outside the server's group, the load generator's and the
    /// services' own, that did work meanwhile.
    static func census(
        _ stack: StackName, services: ServiceDirectory, suites: [any CatalogSuite.Type], cases: [LoadCase]
    ) throws {
        let serverGroup = ThreadGroup(name: "census-server", cpus: nil)
        let loadGroup = ThreadGroup(name: "census-load", cpus: nil)
        let server = try startServer(
            stack, suites: suites,
            settings: ServerSettings(
                services: services, onThreadStart: { serverGroup.enter() }))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let known = Set((services.service(UpstreamService.self)?.threadIDs ?? []) + [currentThreadID()])
        for loadCase in cases {
            let requests = LoadRequests.make(
                loadCase.requests(seed: 1, count: 16), host: address.description, check: loadCase.name)
            let before = ThreadCensus.take()
            let serverCPU = serverGroup.cpuNanos()
            let result = try LoadGenerator.run(
                LoadOptions(
                    address: address, requests: requests, connections: 8, duration: 0.5,
                    onThreadStart: { loadGroup.enter() }))
            let used = serverGroup.cpuNanos() - serverCPU
            let mine = Set(serverGroup.threadIDs + loadGroup.threadIDs).union(known)
            let strangers = ThreadCensus.delta(before, ThreadCensus.take()).filter {
                !mine.contains($0.tid) && $0.cpuNanos > 0
            }
            let strangerCPU = strangers.reduce(0) { $0 + $1.cpuNanos }
            #expect(result.errors.total == 0, "\(stack) \(loadCase.name): \(result.errors)")
            // Enough answers that a thread doing per-request work outside the groups would show (debug builds are slow).
            #expect(result.requests > 20, "\(stack) \(loadCase.name): \(result.requests) answers")
            #expect(
                strangerCPU < max(2_000_000, used / 50),
                Comment(
                    rawValue:
                        "\(stack) \(loadCase.name): threads outside the groups ran \(strangerCPU / 1000) µs beside "
                        + "the server's \(used / 1000) µs: \(strangers.map { "\($0.name) (\($0.tid)) \($0.cpuNanos / 1000) µs" })"
                ))
        }
    }
}
