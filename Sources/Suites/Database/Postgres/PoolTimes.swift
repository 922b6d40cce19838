import Atomics
import Posix

/// Time the embedded stacks' PostgreSQL pools account for in this process:
/// the wait, from a request asking for a connection to having it (nothing
/// when one is idle, the wait when all are leased, the connect at a pool's
/// start), and the lease, from having it to giving it back (the statements
/// and the handler's work between them). Read around a repetition, they are
/// the time requests waited for a connection and how busy the pool kept its
/// connections. The server's own account, so figures, not checks; a peer's
/// pool is in another process and not seen here.
final class PoolTimes: Sendable {
    static let shared = PoolTimes()

    private let waitNanos = ManagedAtomic<UInt64>(0)
    private let leases = ManagedAtomic<UInt64>(0)
    private let leasedNanos = ManagedAtomic<UInt64>(0)

    struct Reading: Sendable {
        var waitNanos: UInt64
        var leases: UInt64
        var leasedNanos: UInt64
    }

    func recordWait(_ nanos: UInt64) {
        waitNanos.wrappingIncrement(by: nanos, ordering: .relaxed)
        leases.wrappingIncrement(ordering: .relaxed)
    }

    func recordLease(_ nanos: UInt64) { leasedNanos.wrappingIncrement(by: nanos, ordering: .relaxed) }

    func read() -> Reading {
        Reading(
            waitNanos: waitNanos.load(ordering: .relaxed), leases: leases.load(ordering: .relaxed),
            leasedNanos: leasedNanos.load(ordering: .relaxed))
    }
}
