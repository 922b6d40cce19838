import Posix

/// The verdict on one server for one suite, workload by workload: a workload
/// is measured only when no failure concerns it; warnings are reported
/// beside the figures.
public struct VerificationReport: Sendable, Codable {
    public var suite: String
    public var checksRun: Int
    public var failures: [Finding]
    public var warnings: [Finding]
    /// Checks and workloads left out because the server declared them not
    /// applicable, and parts of checks waived, each with the reason.
    public var skipped: [Finding] = []

    public var passed: Bool { failures.isEmpty }

    /// The workloads of `contract` that failed, each with its first failure;
    /// a failure that names no workload concerns them all.
    public func failedWorkloads(of contract: SuiteContract) -> [String: Finding] {
        var failed: [String: Finding] = [:]
        for finding in failures {
            let concerned = finding.workloads.isEmpty ? contract.workloadNames : finding.workloads
            for workload in concerned where failed[workload] == nil { failed[workload] = finding }
        }
        return failed
    }
}

/// Checks a running server against a suite over real sockets.
public enum Verifier {
    /// Runs every check of the suite and `samplesPerCase` variants of each
    /// workload. Warnings are reported once per distinct message. `services`
    /// are the run's services, whose own records some scenarios read.
    public static func verify(
        suite: SuiteContract, address: SocketAddress, samplesPerCase: Int = 5, seed: UInt64 = 1,
        exclusions: Exclusions = Exclusions(), services: ServiceDirectory? = nil
    ) -> VerificationReport {
        var report = VerificationReport(suite: suite.name, checksRun: 0, failures: [], warnings: [])
        func applies(_ item: String, workloads: [String] = []) -> Bool {
            guard let reason = exclusions.reason(suite: suite.name, item: item, workloads: workloads) else {
                return true
            }
            report.skipped.append(
                Finding(level: .warning, check: item, message: "not applicable: \(reason)", workloads: workloads))
            return false
        }
        // Checks that name no workload concern only the workloads that apply.
        let applicable = suite.workloadNames.filter { exclusions.reason(suite: suite.name, item: $0) == nil }
        func concerned(_ workloads: [String]) -> [String] { workloads.isEmpty ? applicable : workloads }
        var requests: [(name: String, request: RequestSpec, workloads: [String])] = suite.checks
            .filter { applies($0.name, workloads: $0.workloads) }
            .map { ($0.name, $0.request, concerned($0.workloads)) }
        for loadCase in suite.cases where applies(loadCase.name) {
            for (i, request) in loadCase.requests(seed: seed, count: samplesPerCase).enumerated() {
                requests.append(("\(loadCase.name) #\(i + 1) (\(request.target))", request, [loadCase.name]))
            }
        }
        let client = ProbeClient(address: address)
        var seenWarnings = Set<String>()
        let waived = { (aspect: String) in exclusions.waiver(suite: suite.name, aspect: aspect) }
        for (name, request, workloads) in requests {
            report.checksRun += 1
            do {
                let response = try client.send(request)
                for var finding in request.expectation.findings(
                    for: response, check: name, method: request.method, waived: waived)
                {
                    finding.workloads = workloads
                    switch finding.level {
                    case .failure: report.failures.append(finding)
                    case .waived: if seenWarnings.insert(finding.message).inserted { report.skipped.append(finding) }
                    case .warning: if seenWarnings.insert(finding.message).inserted { report.warnings.append(finding) }
                    }
                }
            } catch {
                report.failures.append(Finding(level: .failure, check: name, message: "\(error)", workloads: workloads))
            }
        }
        for scenario in suite.scenarios where applies(scenario.name, workloads: scenario.workloads) {
            report.checksRun += 1
            let context = ScenarioContext(client: ProbeClient(address: address), services: services)
            let workloads = concerned(scenario.workloads)
            do {
                for problem in try scenario.run(context) {
                    report.failures.append(
                        Finding(level: .failure, check: scenario.name, message: problem, workloads: workloads))
                }
            } catch {
                report.failures.append(
                    Finding(level: .failure, check: scenario.name, message: "\(error)", workloads: workloads))
            }
        }
        return report
    }
}
