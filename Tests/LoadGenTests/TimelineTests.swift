@testable import LoadGen
import Testing

/// The timeline's per-second figures, driven by a made-up clock: no load, no scheduling.
@Suite("load timeline")
struct TimelineTests {
    static let second: UInt64 = 1_000_000_000

    @Test("a second shows the most connections active in it, and a change counts in the second it happens in")
    func activeConnections() {
        let aggregator = TimelineAggregator(threads: 1)
        var recorder = TimelineRecorder()
        recorder.aggregator = aggregator
        var active = 2
        recorder.noteActive(active)
        recorder.advance(to: Self.second - 1, active: active)
        // The loop's turn just after 1 s: it closes second 0 first, then follows the profile up.
        recorder.advance(to: Self.second + 5_000_000, active: active)
        active = 12
        recorder.noteActive(active)
        recorder.record(latency: 1000)
        // Just after 2 s the profile goes down; the extra connections are parked a little later.
        recorder.advance(to: 2 * Self.second + 3_000_000, active: active)
        active = 2
        // A long wait: seconds 2 and 3 close in one turn, 3 with the count since the fall.
        recorder.advance(to: 4 * Self.second + 1, active: active)
        recorder.record(latency: 2000)
        recorder.finish()
        let timeline = aggregator.finish()
        #expect(timeline.map(\.activeConnections) == [2, 12, 12, 2, 2])
        #expect(timeline.map(\.requests) == [0, 1, 0, 0, 1])
        #expect(timeline.map(\.second) == [0, 1, 2, 3, 4])
    }

    @Test("seconds of several threads add their peaks")
    func threadsAdd() {
        let aggregator = TimelineAggregator(threads: 2)
        var recorders = [TimelineRecorder(), TimelineRecorder()]
        for t in 0..<2 {
            recorders[t].aggregator = aggregator
            recorders[t].noteActive(3 + t)
            recorders[t].advance(to: Self.second, active: 1)
        }
        #expect(aggregator.finish().map(\.activeConnections) == [7])
    }
}
