import CPosix
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// A program catbench starts and must stop again: a server under test, an
/// installer step. It leads its own process group, so stopping it stops the
/// workers it forks too, and a Ctrl-C typed at catbench's terminal reaches
/// catbench alone, which then stops its children in order.
public final class ChildProcess: Sendable {
    public enum Termination: Sendable, Equatable, CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)

        public var description: String {
            switch self {
            case .exited(let code): return "exited with status \(code)"
            case .signalled(let signal):
                return
                    "killed by signal \(signal)\(signal == SIGKILL ? " (SIGKILL)" : signal == SIGTERM ? " (SIGTERM)" : signal == SIGSEGV ? " (SIGSEGV)" : "")"
            }
        }
    }

    public let pid: pid_t
    public let arguments: [String]
    /// Where its standard output and error go, or nil when inherited.
    public let logPath: String?
    /// Whether it leads a process group of its own (signals then go to the group).
    public let ownGroup: Bool
    private let termination = Mutex<Termination?>(nil)

    /// Every child not yet stopped, so that an exit path can stop them all.
    private static let living = Mutex<[pid_t: ChildProcess]>([:])

    public struct SpawnError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts `arguments` (the first is a path or a name found in PATH) with
    /// this process's environment plus `environment`. Output goes to
    /// `logPath` (created or truncated), or to catbench's own when nil. With
    /// `cpus`, the child and everything it starts run on those CPUs only.
    /// With `ownGroup` false the child stays in catbench's process group, so
    /// a Ctrl-C at the terminal stops both (for short helper steps).
    public static func spawn(
        _ arguments: [String], environment: [String: String] = [:], workingDirectory: String? = nil,
        logPath: String? = nil, cpus: [Int]? = nil, ownGroup: Bool = true
    ) throws -> ChildProcess {
        guard let program = arguments.first, !program.isEmpty else { throw SpawnError(description: "empty command") }
        var outputFD: Int32 = -1
        if let logPath {
            outputFD = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            guard outputFD >= 0 else {
                throw SpawnError(
                    description: "cannot create the log file \(logPath): \(String(cString: strerror(errno)))")
            }
        }
        defer { if outputFD >= 0 { close(outputFD) } }

        var merged = currentEnvironment()
        for (key, value) in environment { merged[key] = value }
        let envStrings = merged.map { "\($0.key)=\($0.value)" }.sorted()

        // A child inherits the CPU set of the thread that starts it.
        if let cpus { try Affinity.pinCurrentThread(to: cpus) }
        defer { if cpus != nil { try? Affinity.pinCurrentThread(to: Affinity.availableCPUs()) } }

        let pid = withCStrings(arguments) { argv in
            withCStrings(envStrings) { envp in
                cposix_spawn(argv, envp, workingDirectory, outputFD, ownGroup ? 1 : 0)
            }
        }
        guard pid > 0 else {
            let reason = String(cString: strerror(-pid))
            throw SpawnError(description: "cannot start \(program): \(reason)")
        }
        let child = ChildProcess(pid: pid, arguments: arguments, logPath: logPath, ownGroup: ownGroup)
        living.withLock { $0[pid] = child }
        return child
    }

    private init(pid: pid_t, arguments: [String], logPath: String?, ownGroup: Bool) {
        self.ownGroup = ownGroup
        self.pid = pid
        self.arguments = arguments
        self.logPath = logPath
    }

    /// How the process ended, or nil while it runs. Never blocks.
    public func poll() -> Termination? {
        termination.withLock { ended in
            if ended == nil { ended = reap(blocking: false) }
            return ended
        }
    }

    public var isRunning: Bool { poll() == nil }

    /// Waits for the process to end, at most `seconds` (forever when nil).
    @discardableResult
    public func wait(seconds: Double? = nil) -> Termination? {
        let deadline = seconds.map { Clock.monotonicNanos() + UInt64($0 * 1e9) }
        while true {
            if let ended = poll() { return ended }
            if let deadline, Clock.monotonicNanos() >= deadline { return nil }
            usleep(10_000)
        }
    }

    /// Whether any process of its group is still alive (workers can outlive the leader).
    public var groupAlive: Bool {
        guard ownGroup else { return poll() == nil }
        return kill(-pid, 0) == 0 || errno == EPERM
    }

    private func signal(_ number: Int32) {
        _ = ownGroup ? kill(-pid, number) : kill(pid, number)
    }

    /// Stops the whole process group: `signal` (SIGTERM unless the program
    /// asks for another, as PostgreSQL's fast shutdown is SIGINT), then
    /// SIGKILL after `grace` seconds if anything of it is left. Returns how
    /// the leader ended.
    @discardableResult
    public func stop(grace: Double = 5, signal first: Int32 = SIGTERM) -> Termination? {
        if groupAlive { signal(first) }
        let deadline = Clock.monotonicNanos() + UInt64(grace * 1e9)
        while Clock.monotonicNanos() < deadline {
            _ = poll()
            if !groupAlive { break }
            usleep(10_000)
        }
        if groupAlive { signal(SIGKILL) }
        let ended = wait(seconds: 5)
        Self.living.withLock { _ = $0.removeValue(forKey: pid) }
        return ended
    }

    /// Stops every child still running, at once (SIGKILL): the last resort
    /// on the way out, when an orderly stop was not possible.
    public static func killAll() {
        let children = living.withLock { all -> [ChildProcess] in
            defer { all.removeAll() }
            return Array(all.values)
        }
        for child in children {
            child.signal(SIGKILL)
            _ = child.wait(seconds: 2)
        }
    }

    /// The last `lines` lines of the log, for a report on why it failed.
    public func logTail(lines: Int = 20) -> String {
        guard let logPath else { return "" }
        return Self.tail(of: logPath, lines: lines)
    }

    public static func tail(of path: String, lines: Int, maxBytes: Int = 64 * 1024) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return "" }
        defer { close(fd) }
        let size = lseek(fd, 0, SEEK_END)
        let start = max(0, Int(size) - maxBytes)
        lseek(fd, off_t(start), SEEK_SET)
        var bytes = [UInt8](repeating: 0, count: Int(size) - start)
        var got = 0
        while got < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, $0.count - got) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        let text = String(decoding: bytes.prefix(got), as: UTF8.self)
        var kept = text.split(separator: "\n", omittingEmptySubsequences: false)
        if kept.last == "" { kept.removeLast() }
        return kept.suffix(lines).joined(separator: "\n")
    }

    private func reap(blocking: Bool) -> Termination? {
        var status: Int32 = 0
        let rc = waitpid(pid, &status, blocking ? 0 : WNOHANG)
        if rc == pid {
            let signal = status & 0x7f
            if signal == 0 { return .exited((status >> 8) & 0xff) }
            return .signalled(signal)
        }
        if rc < 0 && errno == ECHILD { return .exited(-1) }
        return nil
    }

    static func currentEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                result[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        return result
    }
}

/// A NUL-terminated array of C strings, alive for the duration of `body`.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for p in pointers { free(p) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
