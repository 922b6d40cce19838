import Accounting
import Posix
import SuiteKit
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// One repetition's load as PostgreSQL itself saw it: the servers' queries
/// (`pg_stat_statements`: count and execution time), their connections
/// (`pg_stat_activity`, sampled every 50 ms on a connection of catbench's
/// own), and — for a cluster catbench started — the CPU of PostgreSQL's
/// processes (the scheduler's account in `/proc`) and their memory (PSS).
/// The sampler's own queries (twenty a second) are PostgreSQL's work too and
/// are left in its CPU: next to thousands of requests a second they are noise.
final class PostgresObservation: LoadObservation, @unchecked Sendable {
    private let db: PGConnection
    private let role: String
    private let poolLimit: Int
    private let tree: ProcessTree?
    private let before: PGStatementCounts.Totals
    private let cpuBefore: UInt64?
    private let poolBefore = PoolTimes.shared.read()
    private let sampled = Mutex(Samples())
    private let stopping = Mutex(false)
    private var sampler: PosixThread?

    struct Samples {
        var count = 0
        var peak = 0
        var busySum = 0
        var failure: String?
    }

    init(url: PostgresURL, role: String, poolLimit: Int, serverPID: pid_t?) throws {
        db = try PGConnection(url)
        self.role = role
        self.poolLimit = poolLimit
        tree = serverPID.map { ProcessTree(root: $0, group: $0) }
        before = try PGStatementCounts.totals(db, role: role)
        cpuBefore = tree?.preciseCPUNanos()
        sampler = try PosixThread(name: "pg-sampler") { [self] in
            guard let watcher = try? PGConnection(url) else {
                sampled.withLock { $0.failure = "cannot connect to sample pg_stat_activity" }
                return
            }
            while !stopping.withLock({ $0 }) {
                do {
                    let (open, busy) = try PGStatementCounts.activity(watcher, role: role)
                    sampled.withLock {
                        $0.count += 1
                        $0.peak = max($0.peak, open)
                        $0.busySum += busy
                    }
                } catch {
                    sampled.withLock { $0.failure = "sampling pg_stat_activity: \(error)" }
                    return
                }
                usleep(50_000)
            }
        }
    }

    func finish(requests: UInt64, seconds: Double) -> ServiceReading {
        stopping.withLock { $0 = true }
        sampler?.join()
        sampler = nil
        var reading = ServiceReading()
        let samples = sampled.withLock { $0 }
        if let failure = samples.failure { reading.problems.append(failure) }
        if samples.count > 0 {
            reading.figures["db_connections_peak"] = Double(samples.peak)
            // Busy: a server connection running a statement or inside a transaction, over the pool's size.
            reading.figures["db_pool_busy"] = Double(samples.busySum) / Double(samples.count) / Double(poolLimit)
            if samples.peak > poolLimit {
                reading.problems.append(
                    "PostgreSQL saw \(samples.peak) connections of the servers' role during the load "
                        + "(pg_stat_activity), more than the suite's pool of \(poolLimit): a connection per request?")
            }
        }
        guard let after = try? PGStatementCounts.totals(db, role: role) else {
            reading.problems.append("cannot read pg_stat_statements after the load")
            return reading
        }
        let queries = Double(after.queries &- before.queries)
        if requests > 0 { reading.figures["db_queries_per_request"] = queries / Double(requests) }
        if seconds > 0 { reading.figures["db_queries_per_s"] = queries / seconds }
        if queries > 0 { reading.figures["db_query_us"] = (after.execMillis - before.execMillis) * 1000 / queries }
        // What a connection costs PostgreSQL: its backend's own pages (catalog
        // and plan caches, prepared statements), read when /proc shows them.
        if let pids = try? PGStatementCounts.backends(db, role: role), !pids.isEmpty {
            let sizes = pids.compactMap { ProcessStats.privateBytes(pid: $0) }
            if sizes.count == pids.count {
                reading.figures["db_memory_per_connection_mib"] =
                    Double(sizes.reduce(0, +)) / Double(sizes.count) / 1_048_576
            }
        }
        // The embedded stacks' pools (in this process) say how long requests
        // waited for a connection, and for how much of the load their
        // connections were leased (PostgreSQL's view above misses a leased
        // connection idle between two statements).
        let pool = PoolTimes.shared.read()
        if pool.leases &- poolBefore.leases > 0 {
            if requests > 0 {
                reading.figures["db_pool_wait_us_per_request"] =
                    Double(pool.waitNanos &- poolBefore.waitNanos) / 1000 / Double(requests)
            }
            if seconds > 0 {
                reading.figures["db_pool_leased"] =
                    Double(pool.leasedNanos &- poolBefore.leasedNanos) / 1e9 / seconds / Double(poolLimit)
            }
        }
        if let tree, let cpuBefore, requests > 0 {
            reading.figures["db_cpu_us_per_request"] =
                Double(tree.preciseCPUNanos() &- cpuBefore) / 1000 / Double(requests)
            if let pss = tree.sample(proportional: true).pssBytes {
                reading.figures["db_memory_mib"] = Double(pss) / 1_048_576
            }
        }
        return reading
    }
}
