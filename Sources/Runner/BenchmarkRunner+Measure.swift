import Accounting
import LoadGen
import Posix
import Results
import SuiteKit
import Suites

extension BenchmarkRunner {
    /// What the measuring loop needs of a server, embedded or external.
    struct Target: Sendable {
        let name: String
        let address: SocketAddress
        let exclusions: Exclusions
        let speaksHTTP2: Bool
        /// Check the answers over every protocol but HTTP/1.1 (which verification covered) before measuring it.
        let checksProtocols: Bool
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

    /// Measures the passing `workloads` of `suites` over `protocols`. Returns
    /// why the server failed during the run, or nil; every workload it could
    /// not reach after that is a failed row.
    @discardableResult
    func measure(
        _ target: Target, protocols: [WireProtocol], suites: [SuiteContract], workloads: [String: [String]],
        loadGroup: ThreadGroup, record: inout ServerRecord, into doc: inout RunDocument
    ) -> String? {
        var gone: String?
        for proto in protocols {
            var allowed = workloads
            if proto != .http1 && target.checksProtocols && gone == nil {
                // The same answers over another protocol must be as right as over HTTP/1.1.
                for suite in suites {
                    let failures = ProtocolCheck.run(
                        suite: suite, workloads: allowed[suite.name] ?? [], address: target.address,
                        proto: proto, seed: plan.seed)
                    guard !failures.isEmpty else { continue }
                    record.verification.append(
                        VerificationRecord(
                            suite: suite.name, checksRun: (allowed[suite.name] ?? []).count, passed: false,
                            failures: failures.keys.sorted().map {
                                FindingRecord(check: "\($0) over \(proto.resultName)", message: failures[$0]!)
                            },
                            warnings: []))
                    for (workload, problem) in failures.sorted(by: { $0.key < $1.key }) {
                        log(
                            "\(target.name): \(suite.name)/\(workload) over \(proto.resultName) FAILED its check, not measured: \(problem)"
                        )
                        failed(
                            target.name, protocols: [proto], suites: [suite], only: workload,
                            reason: "answers over \(proto.resultName) are wrong: \(problem)", into: &doc)
                        allowed[suite.name]?.removeAll { $0 == workload }
                    }
                }
            }
            for suite in suites {
                for loadCase in suite.cases where allowed[suite.name]?.contains(loadCase.name) == true {
                    let specs = loadCase.requests(seed: plan.seed, count: plan.requestVariants)
                    let exclusions = target.exclusions
                    let requests = LoadRequests.make(
                        specs, host: target.address.description, check: "\(suite.name)/\(loadCase.name)",
                        waived: { exclusions.waiver(suite: suite.name, aspect: $0) })
                    for mode in plan.modes(for: proto, suite: suite, loadCase: loadCase) {
                        if stop.load(ordering: .relaxed) { return gone }
                        var measurement = rows(target.name, protocols: [proto], suites: [suite], only: loadCase.name) {
                            _ in
                        }
                        .first { $0.mode == mode.label }!
                        if let gone {
                            measurement.failure = "not measured: \(gone)"
                            doc.measurements.append(measurement)
                            continue
                        }
                        measureMode(
                            target, suite: suite, loadCase: loadCase, requests: requests, mode: mode, proto: proto,
                            loadGroup: loadGroup, into: &measurement)
                        if !measurement.repetitions.isEmpty || measurement.failure != nil {
                            doc.measurements.append(measurement)
                        }
                        if let died = target.failure() {
                            // Its last repetition ran against a dying server: kept, but the server is reported failed.
                            gone = "\(died) during \(suite.name)/\(loadCase.name)"
                            log("\(target.name): \(gone!); the run goes on without it")
                        }
                    }
                }
            }
        }
        return gone
    }

    /// Warm-up and the repetitions of one workload loaded one way.
    private func measureMode(
        _ target: Target, suite: SuiteContract, loadCase: LoadCase, requests: [LoadRequest], mode: LoadMode,
        proto: WireProtocol, loadGroup: ThreadGroup, into measurement: inout MeasurementRecord
    ) {
        let step = "\(target.name) · \(suite.name)/\(loadCase.name) · \(proto.resultName) \(mode.label)"
        let line = "\(target.name) \(suite.name)/\(loadCase.name) \(proto.resultName) \(mode.label)"
        if plan.warmup > 0 {
            catchUp(target)
            progress.begin(step + " · warm-up", seconds: plan.warmup)
            let warm = try? LoadGenerator.run(
                options(
                    target.address, requests, mode: mode, proto: proto, duration: plan.warmup,
                    loadGroup: loadGroup))
            if let warm, warm.errors.timeout > 0 || warm.errors.read > 0 { backlogged = true }
            progress.end()
        }
        var problem: String?
        var broken: String?
        for rep in 0..<plan.repetitions {
            if stop.load(ordering: .relaxed) || target.failure() != nil { break }
            catchUp(target)
            progress.begin(step + " · #\(rep + 1)/\(plan.repetitions)", seconds: plan.duration)
            defer { progress.end() }
            switch measureOnce(
                target,
                options: options(
                    target.address, requests, mode: mode, proto: proto,
                    duration: plan.duration, loadGroup: loadGroup), watched: suite)
            {
            case .brokeRule(let repetition, let rule):
                measurement.repetitions.append(repetition)
                broken = broken ?? rule
                log("\(line) #\(rep + 1): \(rule)")
            case .failed(let reason):
                problem = reason
                log("\(line) #\(rep + 1): the load failed: \(reason)")
            case .interrupted:
                break
            case .measured(let repetition):
                measurement.repetitions.append(repetition)
                if repetition.errors.timeout > 0 || repetition.errors.read > 0 { backlogged = true }
                progress.finished(
                    RepetitionFigure(
                        server: target.name, suite: suite.name, workload: loadCase.name, protocolName: proto.resultName,
                        mode: mode.label, rps: repetition.rps, p50Us: repetition.latencyUs.p50,
                        p99Us: repetition.latencyUs.p99,
                        errors: repetition.errors.total))
                log(
                    "\(line) #\(rep + 1): \(TableRenderer.format(repetition.rps, decimals: 0)) req/s, "
                        + "p99 \(TableRenderer.format(repetition.latencyUs.p99, decimals: 1)) µs"
                        + Self.serviceSummary(repetition.serviceFigures))
            }
        }
        measurement.summarize()
        if measurement.repetitions.isEmpty && !stop.load(ordering: .relaxed) {
            measurement.failure =
                "no repetition could be measured: "
                + (problem ?? target.failure().map { "the server is gone (\($0))" } ?? "the load did not run")
        } else if let broken {
            measurement.failure = "during the load, " + broken
        } else if let broken = brokenInvariants(suite: suite, workload: loadCase.name) {
            log("\(line): \(broken)")
            measurement.failure = broken
        }
    }

    /// What the load of `workload` broke of its suite's invariants, or nil.
    func brokenInvariants(suite: SuiteContract, workload: String) -> String? {
        var problems: [String] = []
        for invariant in suite.invariants(after: workload) {
            do {
                problems += try invariant.check(services).map { "\(invariant.name): \($0)" }
            } catch {
                problems.append("\(invariant.name): could not be checked: \(error)")
            }
        }
        return problems.isEmpty ? nil : "after the load, " + problems.joined(separator: "; ")
    }

    /// After a load the server could not keep up with (timeouts, dropped
    /// connections), waits until it has worked off what the load left queued
    /// — until a fresh connection's readiness request is answered within a
    /// second, for at most 60 s — so that the next measurement does not pay
    /// for the last one (a sync worker serves the abandoned requests first).
    func catchUp(_ target: Target) {
        guard backlogged else { return }
        backlogged = false
        let request = Catalog.readinessRequest
        let deadline = Clock.monotonicNanos() + 60_000_000_000
        progress.note("\(target.name): waiting for it to catch up")
        while Clock.monotonicNanos() < deadline && !stop.load(ordering: .relaxed) && target.failure() == nil {
            let started = Clock.monotonicNanos()
            let answer = try? ProbeClient(address: target.address, timeoutSeconds: 5).send(request)
            if answer?.status == 200 && Clock.monotonicNanos() - started < 1_000_000_000 { return }
            usleep(100_000)
        }
        log("\(target.name): still busy with an earlier load after 60 s; measuring anyway")
    }

    func options(
        _ address: SocketAddress, _ requests: [LoadRequest], mode: LoadMode, proto: WireProtocol,
        duration: Double, loadGroup: ThreadGroup
    ) -> LoadOptions {
        var options = LoadOptions(
            address: address, requests: requests, connections: mode.connections,
            threads: min(plan.loadThreads, mode.connections),
            duration: duration, timeout: plan.timeout, verifyEvery: plan.verifyEvery, pipeline: mode.pipeline,
            keepAlive: mode.keepAlive, rate: mode.rate, onThreadStart: { loadGroup.enter() }, stop: stop)
        options.progress = progress.live
        proto.apply(to: &options, streams: mode.streams)
        return options
    }

    enum Outcome {
        case measured(RepetitionRecord)
        /// Measured, but a service saw the server break one of the suite's rules (more connections than its pool).
        case brokeRule(RepetitionRecord, String)
        case failed(String)
        /// Cut short by Ctrl-C: it measured less than its time, and is not kept.
        case interrupted
    }

    /// One measured repetition with the server's counters read around it.
    func measureOnce(_ target: Target, options: LoadOptions, watched suite: SuiteContract? = nil) -> Outcome {
        target.settle()
        let before = target.read()
        let loadAverageBefore = ProcessStats.loadAverage()
        let sampler = target.samplesMemoryDuringLoad ? MemorySampler(read: target.memory) : nil
        let watching = suite.map { self.observations(for: $0) } ?? []
        let result: LoadResult
        do {
            result = try LoadGenerator.run(options)
        } catch {
            sampler?.finish()
            for observation in watching { _ = observation.finish(requests: 0, seconds: 0) }
            return .failed("\(error)")
        }
        let peak = sampler?.finish()
        let readings = watching.map { $0.finish(requests: result.requests, seconds: result.seconds) }
        if result.interrupted { return .interrupted }
        if let reason = result.abortReason { return .failed(reason) }
        target.settle()
        let after = target.read()
        var repetition = RepetitionRecord.make(
            result, before: before, after: after, peak: peak, threads: options.threads,
            openLoop: options.rate != nil,
            loadAverageBefore: loadAverageBefore)
        let figures = readings.reduce(into: [String: Double]()) { $0.merge($1.figures) { a, _ in a } }
        if !figures.isEmpty { repetition.serviceFigures = figures }
        let problems = readings.flatMap(\.problems)
        return problems.isEmpty ? .measured(repetition) : .brokeRule(repetition, problems.joined(separator: "; "))
    }

    /// The database's own figures of a repetition, for the log line.
    static func serviceSummary(_ figures: [String: Double]?) -> String {
        guard let f = figures else { return "" }
        var parts: [String] = []
        if let q = f["db_queries_per_request"] { parts.append("\(TableRenderer.format(q, decimals: 2)) queries/req") }
        if let t = f["db_query_us"] { parts.append("\(TableRenderer.format(t, decimals: 1)) µs/query") }
        if let c = f["db_cpu_us_per_request"] {
            parts.append("database CPU \(TableRenderer.format(c, decimals: 1)) µs/req")
        }
        if let p = f["db_connections_peak"] { parts.append("\(Int(p)) connections") }
        return parts.isEmpty ? "" : "; by the database: " + parts.joined(separator: ", ")
    }

    /// The suite's services that watch a repetition from their own side (a database's statistics).
    private func observations(for suite: SuiteContract) -> [any LoadObservation] {
        guard let entry = suites.first(where: { $0.contract.name == suite.name }), !entry.services.isEmpty else {
            return []
        }
        return services.observe(entry.services, poolLimit: suite.poolLimit?(plan.workers) ?? Int.max)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
