import Posix

/// The verdict on one server for one suite: it is measured only when there
/// are no failures; warnings are reported beside its figures.
public struct VerificationReport: Sendable, Codable {
    public var suite: String
    public var checksRun: Int
    public var failures: [Finding]
    public var warnings: [Finding]
    /// Checks and cases left out because the server declared them not applicable, with the reason.
    public var skipped: [Finding] = []

    public var passed: Bool { failures.isEmpty }
}

/// Checks a running server against a suite over real sockets.
public enum Verifier {
    /// Runs every check of the suite and `samplesPerCase` variants of each load
    /// case. Warnings are reported once per distinct message.
    public static func verify(suite: Suite, address: SocketAddress, samplesPerCase: Int = 5, seed: UInt64 = 1,
                              exclusions: Exclusions = Exclusions()) -> VerificationReport {
        var report = VerificationReport(suite: suite.name, checksRun: 0, failures: [], warnings: [])
        func applies(_ item: String, caseName: String? = nil) -> Bool {
            guard let reason = exclusions.reason(suite: suite.name, item: item, caseName: caseName) else { return true }
            report.skipped.append(Finding(level: .warning, check: item, message: "not applicable: \(reason)"))
            return false
        }
        var requests = suite.checks.filter { applies($0.name, caseName: $0.caseName) }.map { ($0.name, $0.request) }
        for loadCase in suite.cases where applies(loadCase.name) {
            for (i, request) in loadCase.requests(seed: seed, count: samplesPerCase).enumerated() {
                requests.append(("\(loadCase.name) #\(i + 1) (\(request.target))", request))
            }
        }
        let client = ProbeClient(address: address)
        var seenWarnings = Set<String>()
        for (name, request) in requests {
            report.checksRun += 1
            do {
                let response = try client.send(request)
                for finding in request.expectation.findings(for: response, check: name) {
                    if finding.level == .failure {
                        report.failures.append(finding)
                    } else if seenWarnings.insert(finding.message).inserted {
                        report.warnings.append(finding)
                    }
                }
            } catch {
                report.failures.append(Finding(level: .failure, check: name, message: "\(error)"))
            }
        }
        for scenario in suite.scenarios where applies(scenario.name) {
            report.checksRun += 1
            let scenarioClient = ProbeClient(address: address)
            do {
                for problem in try scenario.run(scenarioClient) {
                    report.failures.append(Finding(level: .failure, check: scenario.name, message: problem))
                }
            } catch {
                report.failures.append(Finding(level: .failure, check: scenario.name, message: "\(error)"))
            }
        }
        return report
    }
}
