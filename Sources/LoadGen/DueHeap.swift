/// A binary min-heap of (time, connection) pairs: which connection needs the
/// loop's attention next (an open-loop send or a reconnect), without scanning
/// every connection on every turn.
struct DueHeap {
    private var times: [UInt64] = []
    private var slots: [Int32] = []

    init(capacity: Int) {
        times.reserveCapacity(capacity)
        slots.reserveCapacity(capacity)
    }

    var isEmpty: Bool { times.isEmpty }
    var nextTime: UInt64? { times.first }

    mutating func push(_ time: UInt64, _ slot: Int) {
        times.append(time)
        slots.append(Int32(slot))
        var i = times.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard times[parent] > times[i] else { break }
            times.swapAt(parent, i)
            slots.swapAt(parent, i)
            i = parent
        }
    }

    /// Removes and returns the earliest entry due at or before `now`.
    mutating func popDue(_ now: UInt64) -> Int? {
        guard let first = times.first, first <= now else { return nil }
        let slot = Int(slots[0])
        let last = times.count - 1
        times.swapAt(0, last)
        slots.swapAt(0, last)
        times.removeLast()
        slots.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < times.count && times[l] < times[m] { m = l }
            if r < times.count && times[r] < times[m] { m = r }
            if m == i { break }
            times.swapAt(m, i)
            slots.swapAt(m, i)
            i = m
        }
        return slot
    }
}
