import Histogram

/// One second of a run.
public struct TimelineSecond: Sendable, Equatable {
    public var second: Int
    public var requests: UInt64
    public var errors: UInt64
    /// Latency percentiles of the answers completed in this second, in µs
    /// (corrected for coordinated omission in open loop).
    public var p50Micros: Double
    public var p99Micros: Double
    public var activeConnections: Int
}

/// Per-second figures of one load thread, kept small: each second's latencies
/// are stored as the histogram's non-zero buckets only, so memory grows by a
/// few hundred bytes a second whatever the request rate.
struct TimelineRecorder {
    struct Interval {
        var requests: UInt64 = 0
        var errors: UInt64 = 0
        var active = 0
        var buckets: [(value: UInt64, count: UInt64)] = []
    }

    private(set) var intervals: [Interval] = []
    private var current = Interval()
    private var histogram = LoadResult.makeIntervalHistogram()
    private var second = 0

    @inline(__always)
    mutating func record(latency: UInt64) {
        _ = histogram.record(min(latency, 60_000_000_000))
        current.requests += 1
    }

    mutating func recordError() { current.errors += 1 }

    /// Closes every second that ended before `elapsedNanos`.
    mutating func advance(to elapsedNanos: UInt64, active: Int) {
        let now = Int(elapsedNanos / 1_000_000_000)
        while second < now {
            close(active: active)
        }
    }

    mutating func finish(active: Int) {
        if current.requests > 0 || current.errors > 0 { close(active: active) }
    }

    private mutating func close(active: Int) {
        current.active = active
        current.buckets = histogram.recordedValues().map { ($0.value, UInt64($0.count)) }
        intervals.append(current)
        current = Interval()
        histogram.reset()
        second += 1
    }

    /// Merges the threads' timelines second by second.
    static func merge(_ recorders: [TimelineRecorder]) -> [TimelineSecond] {
        let seconds = recorders.map(\.intervals.count).max() ?? 0
        var merged: [TimelineSecond] = []
        for s in 0..<seconds {
            var histogram = LoadResult.makeIntervalHistogram()
            var entry = TimelineSecond(second: s, requests: 0, errors: 0, p50Micros: 0, p99Micros: 0, activeConnections: 0)
            for recorder in recorders where s < recorder.intervals.count {
                let interval = recorder.intervals[s]
                entry.requests += interval.requests
                entry.errors += interval.errors
                entry.activeConnections += interval.active
                for (value, count) in interval.buckets { _ = histogram.record(value, count: count) }
            }
            if histogram.totalCount > 0 {
                entry.p50Micros = Double(histogram.valueAtPercentile(50)) / 1000
                entry.p99Micros = Double(histogram.valueAtPercentile(99)) / 1000
            }
            merged.append(entry)
        }
        return merged
    }
}
