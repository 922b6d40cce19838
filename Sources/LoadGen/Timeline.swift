import Histogram
#if canImport(Glibc)
    import Glibc
#endif

/// One second of a run.
public struct TimelineSecond: Sendable, Equatable {
    public var second: Int
    public var requests: UInt64
    public var errors: UInt64
    /// Latency percentiles of the answers completed in this second, in µs
    /// (corrected for coordinated omission in open loop).
    public var p50Micros: Double
    public var p99Micros: Double
    /// The most connections the load profile had active at any moment of the
    /// second (summed over the load threads). A connection is active from when
    /// the profile takes it on until it is parked, which waits for its answer
    /// in flight: a change of users counts in the second it happens in.
    public var activeConnections: Int
}

/// Per-second figures of one load thread. At the end of each second its
/// latencies go to the run's `TimelineAggregator`, and the thread's interval
/// histogram is reused: a thread's memory does not grow with the run.
struct TimelineRecorder {
    /// Where closed seconds go; set before the thread starts.
    var aggregator: TimelineAggregator?
    private var requests: UInt64 = 0
    private var errors: UInt64 = 0
    private var histogram = LoadResult.makeIntervalHistogram()
    private var second = 0
    /// The most connections active so far in the open second.
    private var peakActive = 0

    @inline(__always)
    mutating func record(latency: UInt64) {
        _ = histogram.record(min(latency, 60_000_000_000))
        requests += 1
    }

    mutating func recordError() { errors += 1 }

    /// The active connections have grown to `count` (falls need no note: a
    /// second's figure is its peak).
    mutating func noteActive(_ count: Int) { peakActive = max(peakActive, count) }

    /// Closes every second that ended before `elapsedNanos`. `active` is the
    /// count now, unchanged since the last call: the next second starts with it.
    mutating func advance(to elapsedNanos: UInt64, active: Int) {
        let now = Int(elapsedNanos / 1_000_000_000)
        while second < now {
            close()
            peakActive = active
        }
    }

    mutating func finish() {
        if requests > 0 || errors > 0 { close() }
    }

    private mutating func close() {
        aggregator?.close(second: second, requests: requests, errors: errors, active: peakActive, latencies: histogram)
        requests = 0
        errors = 0
        histogram.reset()
        second += 1
    }
}

/// The run's timeline, merged from every load thread as seconds close: a
/// second's histograms are added bucket by bucket (so its percentiles are
/// exact) and dropped once every thread has closed it, leaving about fifty
/// bytes per second of the run. Only seconds some thread is still in hold a
/// histogram.
final class TimelineAggregator: @unchecked Sendable {
    private struct Open {
        var histogram = LoadResult.makeIntervalHistogram()
        var entry: TimelineSecond
        var closedBy = 0
    }

    private let threads: Int
    private var lock = pthread_mutex_t()
    private var open: [Int: Open] = [:]
    private var done: [TimelineSecond] = []

    init(threads: Int) {
        self.threads = threads
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    func close(second: Int, requests: UInt64, errors: UInt64, active: Int, latencies: Histogram<UInt64>) {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        var slot =
            open[second]
            ?? Open(
                entry: TimelineSecond(
                    second: second, requests: 0, errors: 0, p50Micros: 0, p99Micros: 0,
                    activeConnections: 0))
        slot.entry.requests += requests
        slot.entry.errors += errors
        slot.entry.activeConnections += active
        if latencies.totalCount > 0 { slot.histogram.add(latencies) }
        slot.closedBy += 1
        if slot.closedBy >= threads {
            open.removeValue(forKey: second)
            done.append(Self.summarize(slot))
        } else {
            open[second] = slot
        }
    }

    /// Every second, in order, once the threads are done (seconds only some threads reached included).
    func finish() -> [TimelineSecond] {
        pthread_mutex_lock(&lock)
        defer { pthread_mutex_unlock(&lock) }
        let all = done + open.values.map(Self.summarize)
        open.removeAll()
        guard let last = all.map(\.second).max() else { return [] }
        var bySecond = Dictionary(all.map { ($0.second, $0) }, uniquingKeysWith: { a, _ in a })
        return (0...last).map { s in
            bySecond.removeValue(forKey: s)
                ?? TimelineSecond(second: s, requests: 0, errors: 0, p50Micros: 0, p99Micros: 0, activeConnections: 0)
        }
    }

    private static func summarize(_ slot: Open) -> TimelineSecond {
        var entry = slot.entry
        if slot.histogram.totalCount > 0 {
            entry.p50Micros = Double(slot.histogram.valueAtPercentile(50)) / 1000
            entry.p99Micros = Double(slot.histogram.valueAtPercentile(99)) / 1000
        }
        return entry
    }
}
