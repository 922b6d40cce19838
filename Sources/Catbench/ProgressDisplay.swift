import Atomics
import Posix
import Results
import Runner
#if canImport(Glibc)
    import Glibc
#endif

/// The run's progress on standard error. On a terminal: one status line
/// redrawn in place (the step, elapsed and remaining time, live requests/s),
/// with log lines printed above it. Elsewhere: the log lines only.
final class ProgressDisplay: @unchecked Sendable {
    let interactive: Bool
    private let progress: RunProgress
    private let running = ManagedAtomic<Bool>(true)
    private var thread: PosixThread?
    private var mutex = pthread_mutex_t()
    private var statusShown = false
    private var lastAnswers: UInt64 = 0
    private var lastTime = Clock.monotonicNanos()
    private var rate = 0.0

    static var standardErrorIsTerminal: Bool {
        isatty(2) == 1 && (getenv("TERM").map { String(cString: $0) } ?? "") != "dumb"
    }

    init(progress: RunProgress, interactive: Bool) {
        self.progress = progress
        self.interactive = interactive
        pthread_mutex_init(&mutex, nil)
        guard interactive else { return }
        thread = try? PosixThread(name: "catbench-progress") { [self] in
            while running.load(ordering: .relaxed) {
                redraw()
                usleep(250_000)
            }
        }
    }

    deinit { pthread_mutex_destroy(&mutex) }

    /// A log line, above the status line on a terminal.
    func log(_ line: String) {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if interactive && statusShown { write("\r\u{1B}[2K") }
        write(line.hasSuffix("\n") ? line : line + "\n")
        statusShown = false
    }

    /// Stops redrawing and clears the status line.
    func finish() {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
        pthread_mutex_lock(&mutex)
        if statusShown { write("\r\u{1B}[2K") }
        statusShown = false
        pthread_mutex_unlock(&mutex)
    }

    private func redraw() {
        let s = progress.snapshot()
        let now = Clock.monotonicNanos()
        let answers = progress.live.answers.load(ordering: .relaxed)
        let span = Double(now - lastTime) / 1e9
        if span >= 0.5 {
            rate = answers >= lastAnswers ? Double(answers - lastAnswers) / span : 0
            lastAnswers = answers
            lastTime = now
        }
        var line = "\(Self.clock(s.elapsedSeconds)) elapsed · ~\(Self.clock(s.remainingSeconds)) of load left · "
        line += s.stepStartedAt == nil ? "" : "\(TableRenderer.thousands(rate)) req/s · "
        line += s.step
        let width = Self.terminalWidth()
        if line.count > width - 1 { line = String(line.prefix(max(10, width - 2))) + "…" }
        pthread_mutex_lock(&mutex)
        write("\r\u{1B}[2K" + line)
        statusShown = true
        pthread_mutex_unlock(&mutex)
    }

    private func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func clock(_ seconds: Double) -> String {
        let total = Int(seconds.rounded())
        let s = total % 60
        return "\(total / 60):" + (s < 10 ? "0" : "") + String(s)
    }

    static func terminalWidth() -> Int {
        var size = winsize()
        return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 100
    }
}
