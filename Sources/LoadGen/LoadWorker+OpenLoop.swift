/// The open loop's schedule: every connection sends every `intervalNanos`,
/// offset from the others by `spacingNanos`, from the run's start (wrk2's
/// constant arrival rate). A request's latency counts from its place on this
/// schedule, its intended send time, however late it actually went out.
extension LoadWorker {
    /// Open loop: counts the requests due before `end` that were never sent
    /// (their connection was busy with late answers, or connecting again) and
    /// records each in the corrected histogram with its wait up to `end`, as
    /// if answered then: the least it would have waited (wrk2's correction,
    /// carried to the end of the run). They are not answers: the timeline,
    /// `requests` and the uncorrected histogram leave them out.
    func countUnsent(until end: UInt64) {
        guard openLoop else { return }
        for i in 0..<slotCount where globalIndex(i) < activeTarget {
            guard slots[i].state != .parked && slots[i].state != .finished else { continue }
            let first = slots[i].nextDue
            guard first < end else { continue }
            var count = (end - 1 - first) / intervalNanos + 1
            if let budget {
                // A connection being opened for its one request already holds that request's ticket.
                let opening = slots[i].state == .connecting || slots[i].state == .handshaking
                let held: UInt64 = !options.keepAlive && opening ? 1 : 0
                var taken = held
                while taken < count, budget.loadThenWrappingDecrement(ordering: .relaxed) > 0 { taken += 1 }
                count = taken
            }
            for k in 0..<count {
                _ = histogram.record(min(end - (first + k * intervalNanos), 60_000_000_000))
            }
            slots[i].nextDue = first + count * intervalNanos
            unsent += count
        }
    }

    /// The first intended send time of connection `i` at or after `now`, on
    /// the run's common schedule.
    func firstDue(_ i: Int, now: UInt64) -> UInt64 {
        let origin = startedAt + UInt64(globalIndex(i)) * spacingNanos
        guard now > origin else { return origin }
        let periods = (now - origin + intervalNanos - 1) / intervalNanos
        return origin + periods * intervalNanos
    }
}
