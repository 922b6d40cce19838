import Accounting
import Atomics
import Contract
import LoadGen
import Posix
import Results
import SuiteApps

/// Runs a plan: for each server, start it, verify it against each suite,
/// then warm up and measure every workload `repetitions` times, reading the
/// server's allocator arena, CPU clocks and request count around each one.
public final class BenchmarkRunner {
    public let plan: RunPlan
    private let log: (String) -> Void
    private let stop: ManagedAtomic<Bool>

    public init(plan: RunPlan, stop: ManagedAtomic<Bool> = ManagedAtomic(false), log: @escaping (String) -> Void) {
        self.plan = plan
        self.stop = stop
        self.log = log
    }

    /// The results of the run so far; complete unless `stop` was set.
    public private(set) var document: RunDocument?
    private var upstream: UpstreamServer?

    public func run() throws -> RunDocument {
        try plan.validate()
        let machine = MachineInfo.current()
        let (serverCPUs, loadCPUs) = plan.cpuSplit(available: machine.availableCPUs)
        var doc = RunDocument(
            catbench: BuildInfo.toolInfo,
            startedAt: Timestamp.iso8601(),
            machine: MachineRecord(cpuModel: machine.cpuModel, logicalCpus: machine.logicalCPUs, kernel: machine.kernel,
                                   memoryBytes: machine.memoryBytes, hostname: machine.hostname,
                                   loadAverageBefore: ProcessStats.loadAverage(), loadAverageAfter: []),
            settings: SettingsRecord(
                suites: plan.suites, servers: plan.stacks.map(\.rawValue), durationSeconds: plan.duration,
                warmupSeconds: plan.warmup, repetitions: plan.repetitions, connections: plan.connectionLevels[0],
                loadThreads: plan.loadThreads, workers: plan.workers, protocolName: "http/1.1",
                requestTimeoutSeconds: plan.timeout, requestVariants: plan.requestVariants,
                verifyEvery: plan.verifyEvery, seed: plan.seed, serverCpus: serverCPUs, loadCpus: loadCPUs))
        document = doc
        let loadGroup = ThreadGroup(name: "load", cpus: loadCPUs)
        // The async suite's upstream: one for the run, on threads of its own
        // (neither the server's nor the load generator's).
        if plan.suites.contains("async") {
            do {
                upstream = try UpstreamServer()
            } catch {
                throw RunPlan.Invalid(description: "cannot start the async suite's upstream server: \(error)")
            }
        }
        defer {
            upstream?.stop()
            upstream = nil
        }
        for stack in plan.stacks {
            if stop.load(ordering: .relaxed) { break }
            runStack(stack, serverCPUs: serverCPUs, loadGroup: loadGroup, into: &doc)
            document = doc
        }
        doc.finishedAt = Timestamp.iso8601()
        doc.machine.loadAverageAfter = ProcessStats.loadAverage()
        if stop.load(ordering: .relaxed) {
            doc.partial = true
            doc.partialReason = "interrupted by a signal before the plan finished"
        }
        document = doc
        return doc
    }

    private func runStack(_ stack: StackName, serverCPUs: [Int]?, loadGroup: ThreadGroup, into doc: inout RunDocument) {
        var record = ServerRecord(
            name: stack.rawValue, kind: "embedded", design: stack.design,
            configuration: ["workers": String(plan.workers), "host": plan.host,
                            "protocols": stack.speaksHTTP2 ? "http/1.1, h2c, http/1.1+tls, h2" : "http/1.1"],
            status: .measured)
        let cleartext = plan.protocols.filter { !$0.secure }
        let secure = plan.protocols.filter(\.secure)
        var passedSuites: [Suite] = []

        // The cleartext instance: verified over HTTP/1.1, then measured over
        // the cleartext protocols.
        guard let clear = startInstance(stack, tls: nil, serverCPUs: serverCPUs, record: &record) else {
            doc.servers.append(record)
            return
        }
        record.rssIdleBytes = ProcessStats.residentBytes()
        for name in plan.suites {
            guard let suite = Suite.named(name) else { continue }
            let report = Verifier.verify(suite: suite, address: clear.address, seed: plan.seed)
            if record.startupSeconds == nil { record.startupSeconds = clear.startup + Double(report.checksRun) * 0 }
            record.verification.append(VerificationRecord(
                suite: suite.name, checksRun: report.checksRun, passed: report.passed,
                failures: report.failures.map { FindingRecord(check: $0.check, message: $0.message) },
                warnings: report.warnings.map { FindingRecord(check: $0.check, message: $0.message) }))
            if report.passed {
                passedSuites.append(suite)
                log("\(stack.rawValue): \(suite.name) verified (\(report.checksRun) checks, \(report.warnings.count) warnings)")
            } else {
                log("\(stack.rawValue): \(suite.name) FAILED verification, not measured: \(report.failures.first?.description ?? "")")
            }
        }
        if passedSuites.isEmpty {
            clear.server.stop()
            record.status = .failedVerification
            doc.servers.append(record)
            return
        }
        measureInstance(clear, protocols: cleartext, suites: passedSuites, loadGroup: loadGroup, record: &record, into: &doc)
        clear.server.stop()

        // The TLS instance, for the TLS protocols, with a certificate made now.
        if !secure.isEmpty && !stop.load(ordering: .relaxed) {
            if stack.speaksHTTP2 {
                do {
                    let material = try TLSMaterial.selfSigned()
                    if let tls = startInstance(stack, tls: material, serverCPUs: serverCPUs, record: &record) {
                        measureInstance(tls, protocols: secure, suites: passedSuites, loadGroup: loadGroup, record: &record, into: &doc)
                        tls.server.stop()
                    }
                } catch {
                    record.error = "TLS: \(error)"
                }
            } else {
                notApplicable(stack, protocols: secure, suites: passedSuites, into: &doc)
            }
        }
        record.rssAfterBytes = ProcessStats.residentBytes()
        doc.figures += SuiteFigures.derive(from: doc.measurements, server: stack.rawValue)
        doc.servers.append(record)
    }

    /// A started server, with the thread group that counts its allocations and CPU.
    private struct Instance {
        let server: EmbeddedServer
        let group: ThreadGroup
        let address: SocketAddress
        let startup: Double
    }

    private func startInstance(_ stack: StackName, tls: TLSMaterial?, serverCPUs: [Int]?, record: inout ServerRecord) -> Instance? {
        // A group per server: its own arena and a fresh list of thread clocks.
        let group = ThreadGroup(name: stack.rawValue, cpus: serverCPUs)
        let started = Clock.monotonicNanos()
        do {
            let server = try startServer(stack, suites: plan.suites, settings: ServerSettings(
                host: plan.host, port: 0, workers: plan.workers, h2c: stack.speaksHTTP2, tls: tls,
                upstream: upstream?.address, onThreadStart: { group.enter() }))
            let address = try SocketAddress(host: plan.host, port: server.port)
            return Instance(server: server, group: group, address: address, startup: Double(Clock.monotonicNanos() - started) / 1e9)
        } catch {
            if tls == nil {
                record.status = .failedToStart
                record.error = "\(error)"
            } else {
                record.error = "TLS instance failed to start: \(error)"
            }
            log("\(stack.rawValue): failed to start\(tls == nil ? "" : " with TLS"): \(error)")
            return nil
        }
    }

    private func measureInstance(_ instance: Instance, protocols: [WireProtocol], suites: [Suite], loadGroup: ThreadGroup,
                                 record: inout ServerRecord, into doc: inout RunDocument) {
        let stack = instance.server.stack
        for proto in protocols {
            if proto.isHTTP2 && !stack.speaksHTTP2 {
                notApplicable(stack, protocols: [proto], suites: suites, into: &doc)
                continue
            }
            if proto != .http1, let problem = ProtocolCheck.run(suites: suites, address: instance.address, proto: proto, seed: plan.seed) {
                // The same answers over another protocol must be as right as over HTTP/1.1.
                log("\(stack.rawValue): \(proto.resultName) FAILED its check, not measured: \(problem)")
                record.verification.append(VerificationRecord(
                    suite: suites.map(\.name).joined(separator: ","), checksRun: 1, passed: false,
                    failures: [FindingRecord(check: "answers over \(proto.resultName)", message: problem)], warnings: []))
                continue
            }
            for suite in suites {
                for loadCase in suite.cases {
                    let specs = loadCase.requests(seed: plan.seed, count: plan.requestVariants)
                    let requests = LoadRequests.make(specs, host: instance.address.description, check: "\(suite.name)/\(loadCase.name)")
                    for mode in plan.modes(for: proto, suite: suite) {
                        if stop.load(ordering: .relaxed) { return }
                        var measurement = MeasurementRecord(
                            server: stack.rawValue, suite: suite.name, workload: loadCase.name, description: loadCase.summary,
                            protocolName: proto.resultName, connections: mode.connections, pipeline: mode.pipeline,
                            keepAlive: mode.keepAlive, rate: mode.rate, mode: mode.label)
                        measurement.streams = mode.streams
                        if plan.warmup > 0 {
                            _ = try? LoadGenerator.run(options(instance.address, requests, mode: mode, proto: proto,
                                                               duration: plan.warmup, loadGroup: loadGroup))
                        }
                        for rep in 0..<plan.repetitions {
                            if stop.load(ordering: .relaxed) { break }
                            guard let repetition = measure(instance.server, serverGroup: instance.group, loadGroup: loadGroup,
                                                           options: options(instance.address, requests, mode: mode, proto: proto,
                                                                            duration: plan.duration, loadGroup: loadGroup)) else {
                                continue
                            }
                            measurement.repetitions.append(repetition)
                            log("\(stack.rawValue) \(suite.name)/\(loadCase.name) \(proto.resultName) \(mode.label) #\(rep + 1): \(TableRenderer.format(repetition.rps, decimals: 0)) req/s, p99 \(TableRenderer.format(repetition.latencyUs.p99, decimals: 1)) µs")
                        }
                        measurement.summarize()
                        if !measurement.repetitions.isEmpty { doc.measurements.append(measurement) }
                    }
                }
            }
        }
    }

    /// Rows that say a design does not speak a protocol, rather than leaving it out.
    private func notApplicable(_ stack: StackName, protocols: [WireProtocol], suites: [Suite], into doc: inout RunDocument) {
        for proto in protocols {
            for suite in suites {
                for loadCase in suite.cases {
                    for mode in plan.modes(for: proto, suite: suite) {
                        var measurement = MeasurementRecord(
                            server: stack.rawValue, suite: suite.name, workload: loadCase.name, description: loadCase.summary,
                            protocolName: proto.resultName, connections: mode.connections, mode: mode.label)
                        measurement.notApplicable = "\(stack.rawValue) speaks cleartext HTTP/1.1 only, as the sync servers it stands for"
                        doc.measurements.append(measurement)
                    }
                }
            }
        }
    }

    private func options(_ address: SocketAddress, _ requests: [LoadRequest], mode: LoadMode, proto: WireProtocol,
                         duration: Double, loadGroup: ThreadGroup) -> LoadOptions {
        var options = LoadOptions(
            address: address, requests: requests, connections: mode.connections, threads: min(plan.loadThreads, mode.connections),
            duration: duration, timeout: plan.timeout, verifyEvery: plan.verifyEvery, pipeline: mode.pipeline,
            keepAlive: mode.keepAlive, rate: mode.rate, onThreadStart: { loadGroup.enter() }, stop: stop)
        proto.apply(to: &options, streams: mode.streams)
        return options
    }

    /// One measured repetition with the server's counters read around it.
    private func measure(_ server: EmbeddedServer, serverGroup: ThreadGroup, loadGroup: ThreadGroup, options: LoadOptions) -> RepetitionRecord? {
        server.runOnServerThreads { Jemalloc.flushThreadCache() }
        let allocBefore = serverGroup.allocationCounters()
        let cpuBefore = serverGroup.cpuNanos()
        let servedBefore = server.requestsServed
        let result: LoadResult
        do {
            result = try LoadGenerator.run(options)
        } catch {
            log("load failed: \(error)")
            return nil
        }
        server.runOnServerThreads { Jemalloc.flushThreadCache() }
        let served = server.requestsServed - servedBefore
        let cpu = serverGroup.cpuNanos() - cpuBefore
        let allocAfter = serverGroup.allocationCounters()
        let perRequest = served > 0 ? 1 / Double(served) : 0
        var allocations: Double?
        var bytes: Double?
        if let allocBefore, let allocAfter, served > 0 {
            let delta = allocAfter - allocBefore
            allocations = Double(delta.allocations) * perRequest
            bytes = Double(delta.bytes) * perRequest
        }
        let e = result.errors
        var uncorrected: LatencyRecord?
        if let h = result.uncorrectedLatency, h.totalCount > 0 {
            func p(_ q: Double) -> Double { Double(h.valueAtPercentile(q)) / 1000 }
            uncorrected = LatencyRecord(p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: Double(h.max) / 1000, mean: h.mean / 1000)
        }
        var record = RepetitionRecord(
            requests: result.requests, seconds: result.seconds, rps: result.requestsPerSecond,
            latencyUs: LatencyRecord(p50: result.latencyMicros(50), p90: result.latencyMicros(90), p99: result.latencyMicros(99),
                                     p999: result.latencyMicros(99.9), max: result.maxLatencyMicros, mean: result.meanLatencyMicros),
            statusCounts: Dictionary(uniqueKeysWithValues: result.statusCounts.map { (String($0.key), $0.value) }),
            errors: ErrorRecord(connect: e.connect, read: e.read, write: e.write, timeout: e.timeout, badResponse: e.badResponse),
            wrongAnswers: result.wrongAnswers, wrongAnswerExamples: result.wrongAnswerExamples,
            verifiedAnswers: result.verified, serverRequests: served,
            allocationsPerRequest: allocations, bytesPerRequest: bytes,
            serverCpuUsPerRequest: served > 0 ? Double(cpu) / 1000 * perRequest : nil,
            loadCpuUsPerRequest: result.requests > 0 ? Double(result.cpuNanos) / 1000 / Double(result.requests) : nil,
            loadCpuUtilization: result.seconds > 0 ? Double(result.cpuNanos) / 1e9 / (result.seconds * Double(options.threads)) : nil,
            rssBytes: ProcessStats.residentBytes(), loadAverage: ProcessStats.loadAverage())
        record.uncorrectedLatencyUs = uncorrected
        record.timeline = result.timeline.map {
            TimelineRecord(second: $0.second, requests: $0.requests, errors: $0.errors, p50Us: $0.p50Micros,
                           p99Us: $0.p99Micros, activeConnections: $0.activeConnections)
        }
        return record
    }
}
