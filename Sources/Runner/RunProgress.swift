import LoadGen
import Posix
import Synchronization

/// What a run is doing now, read by a progress display on another thread:
/// the step, the planned load time (done and left) and live counters the
/// load generator adds to every 10 ms.
public final class RunProgress: Sendable {
    public struct Snapshot: Sendable {
        public var step = "starting"
        /// Seconds of load (warm-ups and repetitions) the plan holds.
        public var plannedSeconds = 0.0
        /// Planned seconds of the steps finished.
        public var doneSeconds = 0.0
        /// When the current load began (monotonic ns), nil between loads.
        public var stepStartedAt: UInt64?
        public var stepSeconds = 0.0
        public var runStartedAt = Clock.monotonicNanos()
        /// The latest repetition of every measurement so far, for a metrics scrape.
        public var latest: [RepetitionFigure] = []

        /// Load seconds still to run, by the plan (verification and start-up not counted).
        public var remainingSeconds: Double {
            var inStep = 0.0
            if let started = stepStartedAt { inStep = min(stepSeconds, Double(Clock.monotonicNanos() - started) / 1e9) }
            return max(0, plannedSeconds - doneSeconds - inStep)
        }

        public var elapsedSeconds: Double { Double(Clock.monotonicNanos() - runStartedAt) / 1e9 }
    }

    public let live = LiveCounters()
    private let state = Mutex(Snapshot())

    public init() {}

    public func snapshot() -> Snapshot { state.withLock { $0 } }

    func plan(seconds: Double) { state.withLock { $0.plannedSeconds = seconds } }

    /// A step without load (starting a server, verifying).
    func note(_ step: String) { state.withLock { $0.step = step } }

    func begin(_ step: String, seconds: Double) {
        state.withLock {
            $0.step = step
            $0.stepStartedAt = Clock.monotonicNanos()
            $0.stepSeconds = seconds
        }
    }

    func finished(_ figure: RepetitionFigure) {
        state.withLock { s in
            if let i = s.latest.firstIndex(where: { $0.sameMeasurement(as: figure) }) {
                s.latest[i] = figure
            } else {
                s.latest.append(figure)
            }
        }
    }

    func end() {
        state.withLock {
            $0.doneSeconds += $0.stepSeconds
            $0.stepStartedAt = nil
            $0.stepSeconds = 0
        }
    }
}

/// A measurement's latest repetition, as a metrics scrape shows it.
public struct RepetitionFigure: Sendable {
    public var server: String
    public var suite: String
    public var workload: String
    public var protocolName: String
    public var mode: String
    public var rps: Double
    public var p50Us: Double
    public var p99Us: Double
    public var errors: UInt64

    func sameMeasurement(as other: RepetitionFigure) -> Bool {
        server == other.server && suite == other.suite && workload == other.workload
            && protocolName == other.protocolName && mode == other.mode
    }

    public var labels: [(String, String)] {
        [("server", server), ("suite", suite), ("workload", workload), ("protocol", protocolName), ("mode", mode)]
    }
}
