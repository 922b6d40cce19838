import Accounting
import Atomics
import LoadGen
import Peers
import Posix
import Results
import SuiteKit
import Suites
#if canImport(Glibc)
    import Glibc
#endif

/// Runs a plan: the suites' services first, then for each server: start it,
/// verify each suite workload by workload, then warm up and measure every
/// workload that passed, `repetitions` times, reading the server's allocator
/// arena, CPU clocks and request count around each one. Whatever cannot be
/// measured is a row that says why.
public final class BenchmarkRunner {
    public let plan: RunPlan
    let log: (String) -> Void
    let stop: ManagedAtomic<Bool>
    /// What the run is doing, for a progress display.
    public let progress: RunProgress

    public init(
        plan: RunPlan, stop: ManagedAtomic<Bool> = ManagedAtomic(false), progress: RunProgress = RunProgress(),
        log: @escaping (String) -> Void
    ) {
        self.plan = plan
        self.stop = stop
        self.progress = progress
        self.log = log
    }

    /// The results of the run so far; complete unless `stop` was set.
    public private(set) var document: RunDocument?
    /// The run's services, started once before any server.
    var services = ServiceDirectory()
    /// Suites that cannot run at all (a service did not start), with the reason.
    var unavailableSuites: [String: String] = [:]
    var suites: [any CatalogSuite.Type] = []
    /// True when the last load left the server behind (timeouts): the next waits until it caught up.
    var backlogged = false
    /// Why the last server instance did not start.
    var lastStartError: String?

    public func run() throws -> RunDocument {
        try plan.validate()
        suites = try Catalog.resolve(plan.suites)
        let machine = MachineInfo.current()
        let (serverCPUs, loadCPUs) = plan.cpuSplit(available: machine.availableCPUs)
        var doc = RunDocument(
            catbench: BuildInfo.toolInfo,
            startedAt: Timestamp.iso8601(),
            machine: MachineRecord(
                cpuModel: machine.cpuModel, logicalCpus: machine.logicalCPUs, kernel: machine.kernel,
                memoryBytes: machine.memoryBytes, hostname: machine.hostname,
                loadAverageBefore: ProcessStats.loadAverage(), loadAverageAfter: []),
            settings: SettingsRecord(
                suites: suites.map { $0.contract.name },
                servers: plan.stacks.map(\.rawValue) + plan.peers.map(\.name) + plan.unavailablePeers.map(\.name),
                durationSeconds: plan.duration, warmupSeconds: plan.warmup, repetitions: plan.repetitions,
                connections: plan.connectionLevels[0], loadThreads: plan.loadThreads, workers: plan.workers,
                protocolName: "http/1.1", requestTimeoutSeconds: plan.timeout, requestVariants: plan.requestVariants,
                verifyEvery: plan.verifyEvery, seed: plan.seed, serverCpus: serverCPUs, loadCpus: loadCPUs))
        doc.settings.connectionLevels = plan.connectionLevelsGiven ? plan.connectionLevels : nil
        doc.settings.protocols = plan.protocols.map(\.resultName)
        doc.settings.streams = plan.streams
        doc.settings.pipeline = plan.pipeline
        doc.settings.connectionPerRequest = plan.connectionPerRequest
        doc.settings.rate = plan.rate
        doc.settings.pinned = serverCPUs != nil
        doc.settings.startTimeoutSeconds = plan.peers.isEmpty ? nil : plan.startTimeout
        startServices()
        defer {
            services.stop()
            services = ServiceDirectory()
        }
        doc.suites = suites.map { suite in
            let c = suite.contract
            return SuiteRecord(
                name: c.name, summary: c.summary, baselineWorkload: c.baseline?.workload,
                baselineColumn: c.baseline?.column, notes: c.notes.isEmpty ? nil : c.notes,
                services: suite.services.isEmpty
                    ? nil
                    : Dictionary(
                        uniqueKeysWithValues: suite.services.compactMap { type in
                            services.summary[type.serviceName].map { (type.serviceName, $0) }
                        }))
        }
        document = doc
        progress.plan(seconds: plan.plannedLoadSeconds)
        let loadGroup = ThreadGroup(name: "load", cpus: loadCPUs)
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
            var record = ServerRecord(
                name: name, kind: PeerSpec.Kind.bundled.rawValue, design: "bundled peer", configuration: [:],
                status: .failedToStart)
            record.error = reason
            doc.servers.append(record)
        }
        doc.finishedAt = Timestamp.iso8601()
        doc.machine.loadAverageAfter = ProcessStats.loadAverage()
        if stop.load(ordering: .relaxed) { markInterrupted(&doc) }
        document = doc
        return doc
    }

    /// Starts every service the plan's suites need, once each; a suite whose
    /// service does not start is reported failed on every server.
    private func startServices() {
        var started: [any SuiteService] = []
        var failed: [ObjectIdentifier: String] = [:]
        var seen = Set<ObjectIdentifier>()
        for suite in suites {
            for type in suite.services where seen.insert(ObjectIdentifier(type)).inserted {
                do {
                    let service = try type.start()
                    started.append(service)
                    log("\(type.serviceName): \(service.location)")
                } catch {
                    failed[ObjectIdentifier(type)] = "the \(type.serviceName) could not start: \(error)"
                    log("the \(type.serviceName) could not start: \(error)")
                }
            }
            if let reason = suite.services.lazy.compactMap({ failed[ObjectIdentifier($0)] }).first {
                unavailableSuites[suite.contract.name] = reason
            }
        }
        services = ServiceDirectory(started)
    }

    /// Servers the run never reached are listed as such, not left out.
    private func markInterrupted(_ doc: inout RunDocument) {
        doc.partial = true
        doc.partialReason = "interrupted by a signal before the plan finished"
        let reached = Set(doc.servers.map(\.name))
        for stack in plan.stacks where !reached.contains(stack.rawValue) {
            var record = ServerRecord(
                name: stack.rawValue, kind: "embedded", design: stack.design, configuration: [:], status: .skipped)
            record.error = "not reached: the run was interrupted"
            doc.servers.append(record)
        }
        for peer in plan.peers where !reached.contains(peer.name) {
            var record = ServerRecord(
                name: peer.name, kind: peer.kind.rawValue, design: peer.design, configuration: peer.configuration,
                status: .skipped)
            record.error = "not reached: the run was interrupted"
            doc.servers.append(record)
        }
    }

    /// Verifies `suite` on a server and records the verdict; the workloads that may be measured.
    func verify(
        _ name: String, suite: SuiteContract, address: SocketAddress, exclusions: Exclusions,
        record: inout ServerRecord
    ) -> [String] {
        progress.note("\(name): verifying \(suite.name)")
        let report = Verifier.verify(
            suite: suite, address: address, seed: plan.seed, exclusions: exclusions, services: services)
        let failed = report.failedWorkloads(of: suite)
        var verification = VerificationRecord(
            suite: suite.name, checksRun: report.checksRun, passed: report.passed,
            failures: report.failures.map { FindingRecord(check: $0.check, message: $0.message) },
            warnings: report.warnings.map { FindingRecord(check: $0.check, message: $0.message) })
        verification.failedWorkloads = failed.isEmpty ? nil : suite.workloadNames.filter { failed[$0] != nil }
        let waived = report.skipped.filter { $0.level == .waived }
        verification.waived = waived.isEmpty ? nil : waived.map { FindingRecord(check: $0.check, message: $0.message) }
        record.verification.append(verification)
        let passing = suite.workloadNames.filter {
            failed[$0] == nil && exclusions.reason(suite: suite.name, item: $0) == nil
        }
        if report.passed {
            log(
                "\(name): \(suite.name) verified (\(report.checksRun) checks, \(report.warnings.count) warnings"
                    + "\(report.skipped.isEmpty ? "" : ", \(report.skipped.count) not applicable or waived"))")
        } else {
            log(
                "\(name): \(suite.name) FAILED verification on \(failed.keys.sorted().joined(separator: ", ")), not measured there: "
                    + "\(report.failures.first?.description ?? "")")
        }
        return passing
    }

    static func cleartextOnly(_ name: String) -> String {
        if let stack = StackName(rawValue: name) {
            return stack.speaksTLS
                ? "\(name) speaks HTTP/1.1 only (no HTTP/2), as the sync servers it stands for"
                : "\(name) speaks cleartext HTTP/1.1 only, as the sync servers it stands for"
        }
        return "external servers are measured over cleartext HTTP/1.1"
    }
}
