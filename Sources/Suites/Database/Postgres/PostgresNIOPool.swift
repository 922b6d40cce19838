import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Posix
import PostgresNIO
import SuiteKit

/// postgres-nio connections pooled per event loop, in the shape of Vapor's
/// `EventLoopGroupConnectionPool`: a request leases a connection that lives
/// on the loop it runs on (no thread hop between the handler and the
/// driver), awaits one while all of that loop's are busy, and gives it back
/// when it ends. A caller that is not on a NIO loop (ccore's executors) is
/// served from the pool's own group, whose threads the server adopts.
///
/// `PostgresClient`, postgres-nio's own pool, is not used: it needs a
/// long-lived `run()` task on Swift's global executor, whose threads no
/// server can claim for its CPU and allocation counts, and it hands out
/// connections from any loop.
final class PostgresNIOPool: ServerThreads, @unchecked Sendable {
    /// Connections per loop.
    let perLoop: Int
    private let configuration: PostgresConnection.Configuration
    private let group: MultiThreadedEventLoopGroup
    private let logger = Logging.Logger(label: "catbench.postgres") { _ in SwiftLogNoOpLogHandler() }
    private let lock = NIOLock()
    private var loops: [ObjectIdentifier: LoopPool] = [:]
    private var nextID = 0
    private var stopped = false

    private final class LoopPool {
        var idle: [PGLease] = []
        var open = 0
        var waiters: [CheckedContinuation<PGLease, any Error>] = []
    }

    /// `fallbackThreads`: the pool's own loops, for callers off any NIO loop.
    init(
        url: PostgresURL, perLoop: Int, fallbackThreads: Int, applicationName: String,
        onThreadStart: (@Sendable () -> Void)?
    ) {
        self.perLoop = perLoop
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: Int(url.port), username: url.user, password: url.password, database: url.database,
            tls: .disable)
        configuration.options.additionalStartupParameters = [("application_name", applicationName)]
        self.configuration = configuration
        group = MultiThreadedEventLoopGroup(numberOfThreads: fallbackThreads)
        if let onThreadStart { runOnEveryThread(onThreadStart) }
    }

    func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        for loop in group.makeIterator() { try? loop.submit(task).wait() }
    }

    /// A connection on the calling loop (or one of the pool's own), awaited
    /// while all are leased; the wait and the lease are timed (`PoolTimes`).
    func acquire() async throws -> PGLease {
        let asked = Clock.monotonicNanos()
        do {
            let lease = try await lease()
            let now = Clock.monotonicNanos()
            lease.leasedAt = now
            PoolTimes.shared.recordWait(now &- asked)
            return lease
        } catch {
            PoolTimes.shared.recordWait(Clock.monotonicNanos() &- asked)
            throw error
        }
    }

    private func lease() async throws -> PGLease {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? group.next()
        let key = ObjectIdentifier(loop)
        enum Next {
            case ready(PGLease)
            case connect(Int)
            case wait
            case stopped
        }
        return try await withCheckedThrowingContinuation { continuation in
            let next: Next = lock.withLock {
                guard !stopped else { return .stopped }
                let pool = loops[key] ?? LoopPool()
                loops[key] = pool
                if let lease = pool.idle.popLast() { return .ready(lease) }
                if pool.open < perLoop {
                    pool.open += 1
                    nextID += 1
                    return .connect(nextID)
                }
                pool.waiters.append(continuation)
                return .wait
            }
            switch next {
            case .ready(let lease):
                continuation.resume(returning: lease)
            case .wait:
                break  // queued: `release` or `stop` resumes it, exactly once
            case .stopped:
                continuation.resume(throwing: PGError.connection("the pool is stopped"))
            case .connect(let id):
                PostgresConnection.connect(
                    on: loop, configuration: configuration, id: id, logger: logger
                ).whenComplete { result in
                    switch result {
                    case .success(let connection):
                        continuation.resume(returning: PGLease(connection, loop: key, logger: self.logger))
                    case .failure(let error):
                        self.lock.withLock { self.loops[key]?.open -= 1 }
                        continuation.resume(throwing: PGError.connection("cannot connect to PostgreSQL: \(error)"))
                    }
                }
            }
        }
    }

    /// Gives a connection back (to the next waiter of its loop, else to the
    /// idle list); a closed one is dropped and its waiter told.
    func release(_ lease: PGLease) {
        PoolTimes.shared.recordLease(Clock.monotonicNanos() &- lease.leasedAt)
        let closed = lease.connection.isClosed
        let waiter: CheckedContinuation<PGLease, any Error>? = lock.withLock {
            guard let pool = loops[lease.loop] else { return nil }
            if closed || stopped {
                pool.open -= 1
                return pool.waiters.isEmpty ? nil : pool.waiters.removeFirst()
            }
            if pool.waiters.isEmpty {
                pool.idle.append(lease)
                return nil
            }
            return pool.waiters.removeFirst()
        }
        if closed || lock.withLock({ stopped }) {
            waiter?.resume(throwing: PGError.connection("the database connection was lost"))
        } else {
            waiter?.resume(returning: lease)
        }
    }

    /// Connections open now, over every loop.
    var openConnections: Int { lock.withLock { loops.values.reduce(0) { $0 + $1.open } } }

    func stop() {
        let (idle, waiters) = lock.withLock {
            stopped = true
            let idle = loops.values.flatMap(\.idle)
            let waiters = loops.values.flatMap(\.waiters)
            for pool in loops.values {
                pool.idle = []
                pool.waiters = []
            }
            return (idle, waiters)
        }
        for waiter in waiters { waiter.resume(throwing: PGError.connection("the server is stopping")) }
        // Connections on a server's own loops were closed when its loops shut down.
        for lease in idle where !lease.connection.isClosed { try? lease.connection.close().wait() }
        try? group.syncShutdownGracefully()
    }
}
