import Accounting
import Atomics
import SuiteKit
import Suites
import Peers
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// An external server during a run: started as a child process (or found
/// already running), ready once it answers `GET /plaintext` correctly,
/// watched for dying, and stopped — its whole process group — at the end.
final class ExternalServer: Sendable {
    let spec: PeerSpec
    let address: SocketAddress
    /// The processes whose CPU time and memory are the server's; nil when they cannot be seen.
    let tree: ProcessTree?
    let process: ChildProcess?
    let startupSeconds: Double?
    let logPath: String?
    private let scratch: String?

    struct StartFailure: Error, CustomStringConvertible {
        let description: String
        let logTail: String?
    }

    private init(
        spec: PeerSpec, address: SocketAddress, tree: ProcessTree?, process: ChildProcess?, startupSeconds: Double?,
        logPath: String?, scratch: String?
    ) {
        self.spec = spec
        self.address = address
        self.tree = tree
        self.process = process
        self.startupSeconds = startupSeconds
        self.logPath = logPath
        self.scratch = scratch
    }

    /// Starts `spec` (or checks it when it is already running); `readyTimeout`
    /// is how long a started server has to give its first correct answer.
    static func start(
        _ spec: PeerSpec, host: String, workers: Int, services: ServiceDirectory, logDirectory: String,
        cpus: [Int]?, readyTimeout: Double, stop: ManagedAtomic<Bool>
    ) throws -> ExternalServer {
        if let running = spec.address {
            let address: SocketAddress
            do {
                address = try SocketAddress(host: running.host, port: running.port)
            } catch {
                throw StartFailure(description: "\(error)", logTail: nil)
            }
            guard waitReady(address, process: nil, seconds: 5, stop: stop) else {
                throw StartFailure(
                    description: "no correct answer to GET /plaintext at \(address) within 5 s", logTail: nil)
            }
            let local = ["127.0.0.1", "::1", "localhost"].contains(running.host)
            let pid = local ? ProcessTree.listening(port: running.port) : nil
            return ExternalServer(
                spec: spec, address: address, tree: pid.map { ProcessTree(root: $0) }, process: nil,
                startupSeconds: nil, logPath: nil, scratch: nil)
        }

        let port: UInt16
        let address: SocketAddress
        let scratch: String
        do {
            port = try freePort(host: host)
            address = try SocketAddress(host: host, port: port)
            scratch = try FileSystem.temporaryDirectory(prefix: "catbench-\(spec.name)")
            try FileSystem.makeDirectories(logDirectory)
        } catch {
            throw StartFailure(description: "\(error)", logTail: nil)
        }
        let launch = PeerLaunch(
            name: spec.name, host: host, port: port, workers: workers, scratch: scratch, services: services.environment)
        let logPath = "\(logDirectory)/\(spec.name).log"
        let started = Clock.monotonicNanos()
        let child: ChildProcess
        do {
            child = try ChildProcess.spawn(
                try spec.arguments(for: launch), environment: launch.environment,
                workingDirectory: spec.workingDirectoryPath, logPath: logPath, cpus: cpus)
        } catch {
            FileSystem.removeTree(scratch)
            throw StartFailure(description: "\(error)", logTail: nil)
        }
        guard waitReady(address, process: child, seconds: readyTimeout, stop: stop) else {
            let ended = child.poll()
            child.stop()
            FileSystem.removeTree(scratch)
            let reason =
                ended.map { "\($0) before answering" }
                ?? (stop.load(ordering: .relaxed)
                    ? "interrupted while starting" : "no correct answer to GET /plaintext within \(readyTimeout) s")
            throw StartFailure(description: reason, logTail: child.logTail())
        }
        let startup = Double(Clock.monotonicNanos() - started) / 1e9
        return ExternalServer(
            spec: spec, address: address, tree: ProcessTree(root: child.pid, group: child.pid), process: child,
            startupSeconds: startup, logPath: logPath, scratch: scratch)
    }

    /// Why the server is gone, or nil while it runs. A server catbench did
    /// not start is gone when it no longer answers.
    func failure() -> String? {
        if let process {
            guard let ended = process.poll() else { return nil }
            return "\(ended)"
        }
        return nil
    }

    func logTail(lines: Int = 20) -> String? {
        guard let process else { return nil }
        let tail = process.logTail(lines: lines)
        return tail.isEmpty ? nil : tail
    }

    /// Stops what catbench started (nothing for a server it found running).
    @discardableResult
    func stop() -> ChildProcess.Termination? {
        defer { if let scratch { FileSystem.removeTree(scratch) } }
        return process?.stop()
    }

    func sample(proportional: Bool = false) -> ProcessTree.Sample? { tree?.sample(proportional: proportional) }

    /// Polls until `GET /plaintext` answers `Hello, World!`, the process
    /// ends, the run is stopped or `seconds` pass.
    private static func waitReady(
        _ address: SocketAddress, process: ChildProcess?, seconds: Double, stop: ManagedAtomic<Bool>
    ) -> Bool {
        let deadline = Clock.monotonicNanos() + UInt64(seconds * 1e9)
        let request = Catalog.readinessRequest
        while Clock.monotonicNanos() < deadline && !stop.load(ordering: .relaxed) {
            if let process, process.poll() != nil { return false }
            let client = ProbeClient(address: address, timeoutSeconds: 1)
            if let response = try? client.send(request),
                request.expectation.findings(for: response, check: "ready").allSatisfy({ $0.level == .warning })
            {
                return true
            }
            usleep(50_000)
        }
        return false
    }

    /// A port free on `host` now: bound, read and released for the server to take.
    static func freePort(host: String) throws -> UInt16 {
        let fd = try Socket.listen(on: try SocketAddress(host: host, port: 0), backlog: 1)
        defer { close(fd) }
        return Socket.localPort(of: fd)
    }
}
