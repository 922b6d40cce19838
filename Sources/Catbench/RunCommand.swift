import ArgumentParser
import SuiteKit
import Peers
import Atomics
import Posix
import Results
import Runner
import Suites

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Verify and measure suites on the embedded stacks; print a table and write the JSON result.")

    @Option(
        name: .customLong("suite"),
        help: "Suite to run (repeatable). Known: \(Catalog.names.joined(separator: ", ")) (async is async-ops).")
    var suites: [String] = []

    @Option(
        name: .customLong("stack"), help: "Stack to run (repeatable): ccore, async, threaded, or none. Default: all.")
    var stacks: [String] = []

    @Option(
        name: .customLong("peer"),
        help:
            "External server (repeatable): a bundled peer (catzilla, fastapi, flask, django, aiohttp, tornado, nginx, or all), installed on demand; or NAME=http://HOST:PORT for one already running."
    )
    var peers: [String] = []

    @Option(
        name: .customLong("peer-cmd"),
        help:
            "External server catbench starts (repeatable): 'NAME=COMMAND', run by /bin/sh with {port} (and $CATBENCH_PORT) set to a free port."
    )
    var peerCommands: [String] = []

    @Option(help: "Python for installing the bundled peers (default: $CATBENCH_PYTHON or python3).")
    var python: String?

    @Option(help: "How long a started peer has to give its first correct answer.")
    var startTimeout = DurationArgument(seconds: 60)

    @Option(help: "Load per repetition, e.g. 1s, 500ms.")
    var duration = DurationArgument(seconds: 1)

    @Option(help: "Load before the measured repetitions of each workload.")
    var warmup = DurationArgument(seconds: 0.5)

    @Option(
        name: [.customShort("c"), .long],
        help:
            "Keep-alive connections; a list (16,64,256) measures each level. Default 64 (the async-ops suite: 1,64,256)."
    )
    var connections: String?

    @Option(help: "Protocols to measure, a list of h1, h2c, h1-tls, h2-tls (threaded shows n/a for all but h1).")
    var `protocol` = "h1"

    @Option(help: "HTTP/2 streams in flight per connection.")
    var streams = 10

    @Option(
        help:
            "Also measure with this many HTTP/1.1 requests pipelined per connection (its own rows, never the headline)."
    )
    var pipeline: Int?

    @Flag(help: "Also measure with a new connection per request (its own rows).")
    var noKeepalive = false

    @Option(
        name: [.customShort("R"), .customLong("rate")],
        help: "Also measure in open loop at this many requests/s, with coordinated-omission correction (its own rows).")
    var rate: Double?

    @Option(name: [.customShort("t"), .long], help: "Load-generator threads.")
    var threads = 1

    @Option(name: .customLong("repeat"), help: "Measured repetitions per workload.")
    var repetitions = 3

    @Option(help: "Worker threads or event loops of every server.")
    var workers = 1

    @Option(
        help:
            "The database suite's database: sqlite (embedded, the default), postgres (a throw-away cluster catbench starts from Debian's postgresql), or postgres://user:password@host:port/database for a server already running."
    )
    var db = "sqlite"

    @Flag(help: "Do not pin the servers and the load generator to separate CPUs.")
    var noPin = false

    @Option(help: "Where to write the JSON result (default: ./catbench-results/run-<time>.json).")
    var out: String?

    @Option(
        help:
            "Serve the TLS protocols with this PEM certificate chain (with --key); default: a self-signed one made at start."
    )
    var cert: String?

    @Option(help: "The PEM private key for --cert.")
    var key: String?

    @Flag(help: "Verify every server on every suite and stop: nothing is measured (exit 3 when a check fails).")
    var verifyOnly = false

    @Flag(help: "Print only the table.")
    var quiet = false

    @Flag(
        help:
            "The embedded stacks serve Prometheus metrics at /metrics while measured, counting every answer (extra work on the measured routes; off by default)."
    )
    var serverMetrics = false

    @Option(
        help:
            "Serve catbench's own live figures (answers, errors, each measurement's latest throughput and latency) at http://127.0.0.1:PORT/metrics during the run."
    )
    var metricsPort: UInt16?

    func run() throws {
        do {
            let choice = try DatabaseService.Choice(parsing: db)
            DatabaseService.choice.withLock { $0 = choice }
        } catch {
            throw ValidationError("--db \(db): \(error)")
        }
        var plan = RunPlan()
        if !suites.isEmpty { plan.suites = suites }
        plan.verifyOnly = verifyOnly
        guard (cert == nil) == (key == nil) else { throw ValidationError("--cert and --key go together") }
        if let cert, let key {
            do {
                plan.tls = try TLSMaterial.files(certificate: cert, key: key)
            } catch {
                throw ValidationError("\(error)")
            }
        }
        if stacks == ["none"] {
            plan.stacks = []
        } else if !stacks.isEmpty {
            plan.stacks = try stacks.map { name in
                guard let stack = StackName(rawValue: name) else {
                    throw ValidationError(
                        "unknown stack '\(name)'; known stacks: \(StackName.allCases.map(\.rawValue).joined(separator: ", "))"
                    )
                }
                return stack
            }
        }
        plan.duration = duration.seconds
        plan.warmup = warmup.seconds
        if let connections {
            let levels = connections.split(separator: ",").map { Int($0.trimmingCharacters()) }
            guard !levels.isEmpty, levels.allSatisfy({ $0 != nil }) else {
                throw ValidationError("--connections takes a number or a comma-separated list, e.g. 16,64,256")
            }
            plan.connectionLevels = levels.map { $0! }
            plan.connectionLevelsGiven = true
        }
        plan.pipeline = pipeline
        plan.connectionPerRequest = noKeepalive
        plan.rate = rate
        plan.streams = streams
        plan.protocols = try `protocol`.split(separator: ",").map { name in
            guard let proto = WireProtocol(rawValue: name.trimmingCharacters()) else {
                throw ValidationError(
                    "unknown protocol '\(name)'; known: \(WireProtocol.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            return proto
        }
        plan.loadThreads = threads
        plan.repetitions = repetitions
        plan.workers = workers
        plan.pin = !noPin
        plan.startTimeout = startTimeout.seconds
        plan.serverMetrics = serverMetrics
        let path = out ?? "catbench-results/run-\(Timestamp.compact()).json"
        plan.logDirectory = (path.hasSuffix(".json") ? String(path.dropLast(5)) : path) + ".logs"
        (plan.peers, plan.unavailablePeers) = try PeerChoice.resolve(
            peers: peers, commands: peerCommands, python: python, quiet: quiet, suites: plan.contracts.map(\.name))
        do {
            try plan.validate()
        } catch {
            throw ValidationError("\(error)")
        }

        let stop = ManagedAtomic<Bool>(false)
        let signalNumber = ManagedAtomic<Int32>(0)
        try SignalWatcher.install { signal in
            signalNumber.store(signal, ordering: .relaxed)
            stop.store(true, ordering: .relaxed)
            OutputFile.standardError("catbench: stopping after signal \(signal); writing partial results…")
        }
        let quiet = self.quiet
        let progress = RunProgress()
        let display = ProgressDisplay(
            progress: progress, interactive: !quiet && ProgressDisplay.standardErrorIsTerminal)
        let runner = BenchmarkRunner(plan: plan, stop: stop, progress: progress) { line in
            if !quiet { display.log(line) }
        }
        var metricsServer: RunMetricsServer?
        if let metricsPort {
            do {
                metricsServer = try RunMetricsServer(progress: progress, port: metricsPort)
            } catch {
                display.finish()
                throw ValidationError("--metrics-port \(metricsPort): \(error)")
            }
            if !quiet { display.log("live metrics at http://127.0.0.1:\(metricsServer!.port)/metrics") }
        }
        defer { metricsServer?.stop() }
        if !quiet {
            display.log(
                "catbench \(BuildInfo.version): \(plan.suites.joined(separator: ",")) on \((plan.stacks.map(\.rawValue) + plan.peers.map(\.name)).joined(separator: ", ")); \(plan.repetitions)× \(duration) over \(plan.protocols.map(\.resultName).joined(separator: ", ")) in modes \(plan.modes.map(\.label).joined(separator: ", "))"
            )
        }
        let document: RunDocument
        do {
            document = try runner.run()
        } catch {
            display.finish()
            ChildProcess.killAll()
            throw error
        }
        display.finish()
        ChildProcess.killAll()
        OutputFile.standardOutput(TableRenderer.render(document, colour: Terminal.colourOnStandardOutput))
        try OutputFile.writeAtomically(try ResultsJSON.encode(document), to: path)
        OutputFile.standardError("result written to \(path)")
        if document.partial {
            let signal = signalNumber.load(ordering: .relaxed)
            throw ExitCode(signal > 0 ? 128 + signal : 1)
        }
        // A server that did not start or failed a check, or a row that could not be measured, fails the run.
        let good: ServerRecord.Status = verifyOnly ? .verified : .measured
        if document.servers.contains(where: { $0.status != good })
            || document.measurements.contains(where: { $0.failure != nil })
        {
            throw ExitCode(3)
        }
    }
}

extension Substring {
    func trimmingCharacters() -> String { String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed()) }
}
