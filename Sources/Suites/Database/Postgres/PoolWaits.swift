import Atomics
import Posix

/// Time the embedded stacks' PostgreSQL pools spent handing out connections
/// in this process: from a request asking for one to having it (nothing
/// when one is idle, the wait when all are leased, the connect at a pool's
/// start). Read around a repetition, it is the time requests waited for a
/// connection. The server's own account, so a figure, not a check; a peer's
/// pool is in another process and not seen here.
final class PoolWaits: Sendable {
    static let shared = PoolWaits()

    private let nanos = ManagedAtomic<UInt64>(0)
    private let leases = ManagedAtomic<UInt64>(0)

    struct Reading: Sendable {
        var nanos: UInt64
        var leases: UInt64
    }

    func record(since start: UInt64) {
        nanos.wrappingIncrement(by: Clock.monotonicNanos() &- start, ordering: .relaxed)
        leases.wrappingIncrement(ordering: .relaxed)
    }

    func read() -> Reading {
        Reading(nanos: nanos.load(ordering: .relaxed), leases: leases.load(ordering: .relaxed))
    }
}
