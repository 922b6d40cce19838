import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Posix
import SuiteKit

/// The async stack's SQLite: a fixed pool of connections (each with its
/// statements compiled once), leased per request and awaited while all are
/// in use; every query runs on a NIOThreadPool of the server's and is
/// awaited, so an event loop never blocks on the database and a request
/// never holds a thread while it waits — the shape of sqlite-nio, on the
/// process's one SQLite library.
///
/// Written here rather than taken from sqlite-nio: sqlite-nio carries its own
/// copy of SQLite, and two copies of SQLite in one process break each
/// other's POSIX locks on a shared file (sqlite.org/howtocorrupt.html,
/// 2.2.1) — seen here as "database disk image is malformed" once the async
/// server had closed its connections. GRDB links the system SQLite but runs
/// its work on Dispatch queues, whose threads no server can claim for its
/// CPU and allocation counts.
final class AsyncSQLitePool: ServerThreads, @unchecked Sendable {
    let size: Int
    private let threadPool: NIOThreadPool
    /// The loop the pool's futures complete on (NIO asks for one); it does no other work.
    private let group: MultiThreadedEventLoopGroup
    private let lock = NIOLock()
    private var idle: [SQLiteSession]
    private var waiters: [CheckedContinuation<SQLiteSession, Never>] = []

    init(path: String, size: Int, onThreadStart: (@Sendable () -> Void)?) throws {
        self.size = size
        idle = try (0..<size).map { _ in try SQLiteSession(path: path) }
        threadPool = NIOThreadPool(numberOfThreads: size)
        threadPool.start()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        if let onThreadStart { runOnEveryThread(onThreadStart) }
    }

    /// Runs `task` once on every thread of the pool (all held until each has
    /// one, so no thread takes two) and on the loop.
    func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        let barrier = Barrier(count: size)
        let done = (0..<size).map { _ in
            threadPool.runIfActive(eventLoop: group.next()) {
                task()
                barrier.arriveAndWait()
            }
        }
        for future in done { try? future.wait() }
        try? group.next().submit(task).wait()
    }

    /// A connection for one request, awaited while all are in use.
    func acquire() async -> SQLiteSession {
        await withCheckedContinuation { continuation in
            let ready: SQLiteSession? = lock.withLock {
                if let session = idle.popLast() { return session }
                waiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func release(_ session: SQLiteSession) {
        let waiter: CheckedContinuation<SQLiteSession, Never>? = lock.withLock {
            if waiters.isEmpty {
                idle.append(session)
                return nil
            }
            return waiters.removeFirst()
        }
        waiter?.resume(returning: session)
    }

    /// Runs one query's work on the pool's threads and awaits it.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await threadPool.runIfActive(work)
    }

    func stop() {
        try? threadPool.syncShutdownGracefully()
        try? group.syncShutdownGracefully()
        lock.withLock { idle = [] }
    }
}

/// `count` threads wait here until all have arrived.
final class Barrier: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var arrived = 0
    private let count: Int

    init(count: Int) {
        self.count = count
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    func arriveAndWait() {
        pthread_mutex_lock(&mutex)
        arrived += 1
        if arrived >= count { pthread_cond_broadcast(&condition) }
        while arrived < count { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
