import Accounting
import Atomics
import Contract
import LoadGen
import Peers
import Posix
import Results
import SuiteApps
#if canImport(Glibc)
import Glibc
#endif

/// Runs a plan: for each server, start it, verify it against each suite,
/// then warm up and measure every workload `repetitions` times, reading the
/// server's allocator arena, CPU clocks and request count around each one.
public final class BenchmarkRunner {
    public let plan: RunPlan
    private let log: (String) -> Void
    private let stop: ManagedAtomic<Bool>
    /// What the run is doing, for a progress display.
    public let progress: RunProgress

    public init(plan: RunPlan, stop: ManagedAtomic<Bool> = ManagedAtomic(false), progress: RunProgress = RunProgress(),
                log: @escaping (String) -> Void) {
        self.plan = plan
        self.stop = stop
        self.progress = progress
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
                suites: plan.suites, servers: plan.stacks.map(\.rawValue) + plan.peers.map(\.name) + plan.unavailablePeers.map(\.name), durationSeconds: plan.duration,
                warmupSeconds: plan.warmup, repetitions: plan.repetitions, connections: plan.connectionLevels[0],
                loadThreads: plan.loadThreads, workers: plan.workers, protocolName: "http/1.1",
                requestTimeoutSeconds: plan.timeout, requestVariants: plan.requestVariants,
                verifyEvery: plan.verifyEvery, seed: plan.seed, serverCpus: serverCPUs, loadCpus: loadCPUs))
        doc.settings.connectionLevels = plan.connectionLevelsGiven ? plan.connectionLevels : nil
        doc.settings.protocols = plan.protocols.map(\.resultName)
        doc.settings.streams = plan.streams
        doc.settings.pipeline = plan.pipeline
        doc.settings.connectionPerRequest = plan.connectionPerRequest
        doc.settings.rate = plan.rate
        doc.settings.pinned = serverCPUs != nil
        doc.settings.startTimeoutSeconds = plan.peers.isEmpty ? nil : plan.startTimeout
        document = doc
        progress.plan(seconds: plan.plannedLoadSeconds)
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
        for peer in plan.peers {
            if stop.load(ordering: .relaxed) { break }
            runPeer(peer, serverCPUs: serverCPUs, loadGroup: loadGroup, into: &doc)
            document = doc
        }
        for (name, reason) in plan.unavailablePeers {
            var record = ServerRecord(name: name, kind: PeerSpec.Kind.bundled.rawValue, design: "bundled peer", configuration: [:],
                                      status: .failedToStart)
            record.error = reason
            doc.servers.append(record)
        }
        doc.finishedAt = Timestamp.iso8601()
        doc.machine.loadAverageAfter = ProcessStats.loadAverage()
        if stop.load(ordering: .relaxed) {
            doc.partial = true
            doc.partialReason = "interrupted by a signal before the plan finished"
            // Servers the run never reached are listed as such, not left out.
            let reached = Set(doc.servers.map(\.name))
            for stack in plan.stacks where !reached.contains(stack.rawValue) {
                var record = ServerRecord(name: stack.rawValue, kind: "embedded", design: stack.design, configuration: [:], status: .skipped)
                record.error = "not reached: the run was interrupted"
                doc.servers.append(record)
            }
            for peer in plan.peers where !reached.contains(peer.name) {
                var record = ServerRecord(name: peer.name, kind: peer.kind.rawValue, design: peer.design, configuration: peer.configuration,
                                          status: .skipped)
                record.error = "not reached: the run was interrupted"
                doc.servers.append(record)
            }
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
        record.pssIdleBytes = ProcessStats.proportionalBytes()
        for name in plan.suites {
            guard let suite = Suite.named(name) else { continue }
            if record.startupSeconds == nil { record.startupSeconds = clear.startup }
            if verify(stack.rawValue, suite: suite, address: clear.address, exclusions: Exclusions(), record: &record) {
                passedSuites.append(suite)
            }
        }
        if passedSuites.isEmpty {
            clear.server.stop()
            record.status = .failedVerification
            doc.servers.append(record)
            return
        }
        measure(target(clear), protocols: cleartext, http2: stack.speaksHTTP2, suites: passedSuites, loadGroup: loadGroup,
                record: &record, into: &doc)
        clear.server.stop()

        // The TLS instance, for the TLS protocols, with a certificate made now.
        if !secure.isEmpty && !stop.load(ordering: .relaxed) {
            if stack.speaksHTTP2 {
                do {
                    let material = try TLSMaterial.selfSigned()
                    if let tls = startInstance(stack, tls: material, serverCPUs: serverCPUs, record: &record) {
                        measure(target(tls), protocols: secure, http2: true, suites: passedSuites, loadGroup: loadGroup,
                                record: &record, into: &doc)
                        tls.server.stop()
                    }
                } catch {
                    record.error = "TLS: \(error)"
                }
            } else {
                notApplicable(stack.rawValue, protocols: secure, suites: passedSuites, reason: Self.cleartextOnly(stack.rawValue), into: &doc)
            }
        }
        record.rssAfterBytes = ProcessStats.residentBytes()
        record.pssAfterBytes = ProcessStats.proportionalBytes()
        if record.verification.contains(where: { !$0.passed }) { record.status = .failedVerification }
        doc.figures += SuiteFigures.derive(from: doc.measurements, server: stack.rawValue)
        doc.servers.append(record)
    }

    private func runPeer(_ peer: PeerSpec, serverCPUs: [Int]?, loadGroup: ThreadGroup, into doc: inout RunDocument) {
        var configuration = peer.configuration
        configuration["workers"] = String(plan.workers)
        configuration["host"] = peer.address?.host ?? plan.host
        configuration["protocols"] = "http/1.1"
        var record = ServerRecord(name: peer.name, kind: peer.kind.rawValue, design: peer.design, configuration: configuration, status: .measured)
        let exclusions = Exclusions(reasons: peer.notApplicable)
        let suites = plan.suites.compactMap(Suite.named)
        defer {
            doc.figures += SuiteFigures.derive(from: doc.measurements, server: peer.name)
            doc.servers.append(record)
        }
        log("\(peer.name): starting")
        progress.note("\(peer.name): starting")
        let server: ExternalServer
        do {
            server = try ExternalServer.start(peer, host: plan.host, workers: plan.workers, upstream: upstream?.address,
                                              logDirectory: plan.logDirectory, cpus: serverCPUs,
                                              readyTimeout: plan.startTimeout, stop: stop)
        } catch let failure as ExternalServer.StartFailure {
            record.status = .failedToStart
            record.error = failure.description
            record.logTail = failure.logTail
            record.logPath = peer.kind == .running ? nil : "\(plan.logDirectory)/\(peer.name).log"
            log("\(peer.name): failed to start: \(failure.description)" + (failure.logTail.map { "\n" + $0 } ?? ""))
            return
        } catch {
            record.status = .failedToStart
            record.error = "\(error)"
            return
        }
        record.logPath = server.logPath
        record.startupSeconds = server.startupSeconds
        let idle = server.sample(proportional: true)
        record.rssIdleBytes = idle?.rssBytes
        record.pssIdleBytes = idle?.pssBytes
        if server.tree == nil { log("\(peer.name): its processes are not visible here; CPU and memory are not reported") }
        defer {
            let after = server.sample(proportional: true)
            record.rssAfterBytes = after?.rssBytes
            record.pssAfterBytes = after?.pssBytes
            if let gone = server.failure(), record.status == .measured || record.status == .failedVerification {
                record.status = .failedDuringRun
                record.error = record.error ?? gone
            }
            let ended = server.stop()
            if let ended { record.exit = "\(ended)" }
            if record.status != .measured { record.logTail = server.logTail() }
        }

        var passed: [Suite] = []
        for suite in suites {
            if stop.load(ordering: .relaxed) { return }
            if exclusions.excludesSuite(suite.name), let reason = exclusions.reasons[suite.name] {
                notApplicable(peer.name, protocols: [.http1], suites: [suite], reason: reason, into: &doc)
                continue
            }
            if verify(peer.name, suite: suite, address: server.address, exclusions: exclusions, record: &record) {
                passed.append(suite)
            }
            if let gone = server.failure() {
                record.status = .failedDuringRun
                record.error = "\(gone) during the verification of \(suite.name)"
                log("\(peer.name): \(record.error!)")
                return
            }
        }
        if passed.isEmpty && record.verification.contains(where: { !$0.passed }) {
            record.status = .failedVerification
            return
        }
        let secure = plan.protocols.filter { $0 != .http1 }
        if plan.protocols.contains(.http1) {
            if let died = measure(target(server, exclusions: exclusions), protocols: [.http1], http2: false, suites: passed,
                                  loadGroup: loadGroup, record: &record, into: &doc) {
                record.status = .failedDuringRun
                record.error = died
                return
            }
        }
        notApplicable(peer.name, protocols: secure, suites: passed, reason: Self.cleartextOnly(peer.name), into: &doc)
        if record.verification.contains(where: { !$0.passed }) { record.status = .failedVerification }
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
                upstream: upstream?.address, metrics: plan.serverMetrics, onThreadStart: { group.enter() }))
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

    /// Verifies `suite` on a server and records the verdict; true when it may be measured.
    private func verify(_ name: String, suite: Suite, address: SocketAddress, exclusions: Exclusions, record: inout ServerRecord) -> Bool {
        progress.note("\(name): verifying \(suite.name)")
        let report = Verifier.verify(suite: suite, address: address, seed: plan.seed, exclusions: exclusions)
        record.verification.append(VerificationRecord(
            suite: suite.name, checksRun: report.checksRun, passed: report.passed,
            failures: report.failures.map { FindingRecord(check: $0.check, message: $0.message) },
            warnings: report.warnings.map { FindingRecord(check: $0.check, message: $0.message) }))
        if report.passed {
            log("\(name): \(suite.name) verified (\(report.checksRun) checks, \(report.warnings.count) warnings\(report.skipped.isEmpty ? "" : ", \(report.skipped.count) not applicable"))")
        } else {
            log("\(name): \(suite.name) FAILED verification, not measured: \(report.failures.first?.description ?? "")")
        }
        return report.passed
    }

    /// What the measuring loop needs of a server, embedded or external.
    struct Target: Sendable {
        let name: String
        let address: SocketAddress
        let exclusions: Exclusions
        /// Makes the counters exact before a reading (jemalloc's thread caches flushed).
        let settle: @Sendable () -> Void
        let read: @Sendable () -> Counters
        /// Memory now: RSS, and PSS when `proportional` (it costs the kernel more).
        let memory: @Sendable (_ proportional: Bool) -> (rss: UInt64?, pss: UInt64?)
        /// Why the server is gone, or nil while it runs.
        let failure: @Sendable () -> String?
        /// Sample memory during the load (its peak), for servers in processes of their own.
        let samplesMemoryDuringLoad: Bool
    }

    struct Counters: Sendable {
        var cpuNanos: UInt64?
        var allocations: AllocationCounters?
        /// Answers the server counted itself; nil when only the load generator counts them.
        var served: UInt64?
        var rssBytes: UInt64?
        var pssBytes: UInt64?
    }

    private func target(_ instance: Instance) -> Target {
        let server = instance.server
        let group = instance.group
        return Target(
            name: server.stack.rawValue, address: instance.address, exclusions: Exclusions(),
            settle: { server.runOnServerThreads { Jemalloc.flushThreadCache() } },
            read: { Counters(cpuNanos: group.cpuNanos(), allocations: group.allocationCounters(), served: server.requestsServed,
                             rssBytes: ProcessStats.residentBytes(), pssBytes: ProcessStats.proportionalBytes()) },
            memory: { proportional in (ProcessStats.residentBytes(), proportional ? ProcessStats.proportionalBytes() : nil) },
            failure: { nil }, samplesMemoryDuringLoad: false)
    }

    private func target(_ external: ExternalServer, exclusions: Exclusions) -> Target {
        Target(
            name: external.spec.name, address: external.address, exclusions: exclusions, settle: {},
            read: {
                let sample = external.sample(proportional: true)
                return Counters(cpuNanos: sample?.cpuNanos, allocations: nil, served: nil, rssBytes: sample?.rssBytes, pssBytes: sample?.pssBytes)
            },
            memory: { proportional in
                let sample = external.sample(proportional: proportional)
                return (sample?.rssBytes, sample?.pssBytes)
            },
            failure: { external.failure() }, samplesMemoryDuringLoad: external.tree != nil)
    }

    /// Measures every workload of `suites` over `protocols`. Returns why the
    /// server failed during the run, or nil.
    @discardableResult
    private func measure(_ target: Target, protocols: [WireProtocol], http2: Bool, suites: [Suite], loadGroup: ThreadGroup,
                         record: inout ServerRecord, into doc: inout RunDocument) -> String? {
        for proto in protocols {
            if proto.isHTTP2 && !http2 {
                notApplicable(target.name, protocols: [proto], suites: suites, reason: Self.cleartextOnly(target.name), into: &doc)
                continue
            }
            if proto != .http1, let problem = ProtocolCheck.run(suites: suites, address: target.address, proto: proto, seed: plan.seed) {
                // The same answers over another protocol must be as right as over HTTP/1.1.
                log("\(target.name): \(proto.resultName) FAILED its check, not measured: \(problem)")
                record.verification.append(VerificationRecord(
                    suite: suites.map(\.name).joined(separator: ","), checksRun: 1, passed: false,
                    failures: [FindingRecord(check: "answers over \(proto.resultName)", message: problem)], warnings: []))
                continue
            }
            for suite in suites {
                for loadCase in suite.cases {
                    if let reason = target.exclusions.reason(suite: suite.name, item: loadCase.name) {
                        notApplicable(target.name, protocols: [proto], suites: [suite], only: loadCase.name, reason: reason, into: &doc)
                        continue
                    }
                    let specs = loadCase.requests(seed: plan.seed, count: plan.requestVariants)
                    let requests = LoadRequests.make(specs, host: target.address.description, check: "\(suite.name)/\(loadCase.name)")
                    for mode in plan.modes(for: proto, suite: suite) {
                        if stop.load(ordering: .relaxed) { return nil }
                        var measurement = MeasurementRecord(
                            server: target.name, suite: suite.name, workload: loadCase.name, description: loadCase.summary,
                            protocolName: proto.resultName, connections: mode.connections, pipeline: mode.pipeline,
                            keepAlive: mode.keepAlive, rate: mode.rate, mode: mode.label)
                        measurement.streams = mode.streams
                        let step = "\(target.name) · \(suite.name)/\(loadCase.name) · \(proto.resultName) \(mode.label)"
                        if plan.warmup > 0 {
                            progress.begin(step + " · warm-up", seconds: plan.warmup)
                            _ = try? LoadGenerator.run(options(target.address, requests, mode: mode, proto: proto,
                                                               duration: plan.warmup, loadGroup: loadGroup))
                            progress.end()
                        }
                        for rep in 0..<plan.repetitions {
                            if stop.load(ordering: .relaxed) { break }
                            if target.failure() != nil { break }
                            progress.begin(step + " · #\(rep + 1)/\(plan.repetitions)", seconds: plan.duration)
                            defer { progress.end() }
                            guard let repetition = measureOnce(target, options: options(target.address, requests, mode: mode, proto: proto,
                                                                                       duration: plan.duration, loadGroup: loadGroup)) else {
                                continue
                            }
                            measurement.repetitions.append(repetition)
                            progress.finished(RepetitionFigure(
                                server: target.name, suite: suite.name, workload: loadCase.name, protocolName: proto.resultName,
                                mode: mode.label, rps: repetition.rps, p50Us: repetition.latencyUs.p50, p99Us: repetition.latencyUs.p99,
                                errors: repetition.errors.total))
                            log("\(target.name) \(suite.name)/\(loadCase.name) \(proto.resultName) \(mode.label) #\(rep + 1): \(TableRenderer.format(repetition.rps, decimals: 0)) req/s, p99 \(TableRenderer.format(repetition.latencyUs.p99, decimals: 1)) µs")
                        }
                        measurement.summarize()
                        if !measurement.repetitions.isEmpty { doc.measurements.append(measurement) }
                        if let gone = target.failure() {
                            // Its last repetition ran against a dying server: kept, but the server is reported failed.
                            let reason = "\(gone) during \(suite.name)/\(loadCase.name)"
                            log("\(target.name): \(reason); the run goes on without it")
                            return reason
                        }
                    }
                }
            }
        }
        return nil
    }

    static func cleartextOnly(_ name: String) -> String {
        StackName(rawValue: name).map { _ in "\(name) speaks cleartext HTTP/1.1 only, as the sync servers it stands for" }
            ?? "external servers are measured over cleartext HTTP/1.1"
    }

    /// Rows that say a server cannot do something, with the reason, rather than leaving it out.
    private func notApplicable(_ server: String, protocols: [WireProtocol], suites: [Suite], only caseName: String? = nil,
                               reason: String, into doc: inout RunDocument) {
        for proto in protocols {
            for suite in suites {
                for loadCase in suite.cases where caseName == nil || loadCase.name == caseName {
                    for mode in plan.modes(for: proto, suite: suite) {
                        var measurement = MeasurementRecord(
                            server: server, suite: suite.name, workload: loadCase.name, description: loadCase.summary,
                            protocolName: proto.resultName, connections: mode.connections, pipeline: mode.pipeline,
                            keepAlive: mode.keepAlive, rate: mode.rate, mode: mode.label)
                        measurement.streams = mode.streams
                        measurement.notApplicable = reason
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
        options.progress = progress.live
        proto.apply(to: &options, streams: mode.streams)
        return options
    }

    /// One measured repetition with the server's counters read around it.
    private func measureOnce(_ target: Target, options: LoadOptions) -> RepetitionRecord? {
        target.settle()
        let before = target.read()
        let loadAverageBefore = ProcessStats.loadAverage()
        let sampler = target.samplesMemoryDuringLoad ? MemorySampler(read: target.memory) : nil
        let result: LoadResult
        do {
            result = try LoadGenerator.run(options)
        } catch {
            sampler?.finish()
            log("load failed: \(error)")
            return nil
        }
        let peak = sampler?.finish()
        // A repetition cut short by Ctrl-C measured less than its time: not kept.
        if result.interrupted { return nil }
        target.settle()
        let after = target.read()
        // Answers the server counted, or (for an external server) those the load generator received.
        let served = after.served.flatMap { a in before.served.map { a - $0 } } ?? result.requests
        let perRequest = served > 0 ? 1 / Double(served) : 0
        var allocations: Double?
        var bytes: Double?
        if let allocBefore = before.allocations, let allocAfter = after.allocations, served > 0 {
            let delta = allocAfter - allocBefore
            allocations = Double(delta.allocations) * perRequest
            bytes = Double(delta.bytes) * perRequest
        }
        var cpuPerRequest: Double?
        if let cpuBefore = before.cpuNanos, let cpuAfter = after.cpuNanos, cpuAfter >= cpuBefore, served > 0 {
            cpuPerRequest = Double(cpuAfter - cpuBefore) / 1000 * perRequest
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
            verifiedAnswers: result.verified, serverRequests: after.served == nil ? nil : served,
            allocationsPerRequest: allocations, bytesPerRequest: bytes,
            serverCpuUsPerRequest: cpuPerRequest,
            loadCpuUsPerRequest: result.requests > 0 ? Double(result.cpuNanos) / 1000 / Double(result.requests) : nil,
            loadCpuUtilization: result.seconds > 0 ? Double(result.cpuNanos) / 1e9 / (result.seconds * Double(options.threads)) : nil,
            rssBytes: max(peak?.rss ?? 0, after.rssBytes ?? 0) > 0 ? max(peak?.rss ?? 0, after.rssBytes ?? 0) : nil,
            loadAverage: ProcessStats.loadAverage())
        record.uncorrectedLatencyUs = uncorrected
        if options.rate != nil { record.unsentRequests = result.unsent }
        record.loadAverageBefore = loadAverageBefore
        if let pss = after.pssBytes { record.pssBytes = max(pss, peak?.pss ?? 0) }
        if result.latency.totalCount > 0 {
            record.percentileSpectrum = PercentilePoint.spectrum.map {
                PercentilePoint(percentile: $0, latencyUs: $0 == 100 ? result.maxLatencyMicros : result.latencyMicros($0))
            }
        }
        record.timeline = result.timeline.map {
            TimelineRecord(second: $0.second, requests: $0.requests, errors: $0.errors, p50Us: $0.p50Micros,
                           p99Us: $0.p99Micros, activeConnections: $0.activeConnections)
        }
        return record
    }
}

/// The peak of a server's memory while a load runs, on a thread of its own:
/// RSS every 50 ms, PSS (dearer for the kernel to count) every 200 ms.
final class MemorySampler: @unchecked Sendable {
    private let running = ManagedAtomic<Bool>(true)
    private let peakRSS = ManagedAtomic<UInt64>(0)
    private let peakPSS = ManagedAtomic<UInt64>(0)
    private var thread: PosixThread?

    init(read: @escaping @Sendable (_ proportional: Bool) -> (rss: UInt64?, pss: UInt64?)) {
        let running = self.running
        let peakRSS = self.peakRSS
        let peakPSS = self.peakPSS
        thread = try? PosixThread(name: "catbench-memory") {
            var tick = 0
            while running.load(ordering: .relaxed) {
                let now = read(tick % 4 == 0)
                if let bytes = now.rss, bytes > peakRSS.load(ordering: .relaxed) { peakRSS.store(bytes, ordering: .relaxed) }
                if let bytes = now.pss, bytes > peakPSS.load(ordering: .relaxed) { peakPSS.store(bytes, ordering: .relaxed) }
                tick += 1
                usleep(50_000)
            }
        }
    }

    /// Stops sampling; the peaks seen (nil where nothing could be read).
    @discardableResult
    func finish() -> (rss: UInt64?, pss: UInt64?)? {
        running.store(false, ordering: .relaxed)
        thread?.join()
        thread = nil
        let rss = peakRSS.load(ordering: .relaxed)
        let pss = peakPSS.load(ordering: .relaxed)
        return rss == 0 && pss == 0 ? nil : (rss > 0 ? rss : nil, pss > 0 ? pss : nil)
    }
}
