import LoadGen
import Posix
import SuiteKit

/// Checks a server's answers over a protocol other than cleartext HTTP/1.1,
/// through the load generator itself, workload by workload: the checks each
/// workload depends on and a few of its variants, every answer checked in
/// full, one at a time.
enum ProtocolCheck {
    /// The workloads of `suite` (of those given) whose answers are wrong over `proto`, with what went wrong.
    static func run(
        suite: SuiteContract, workloads: [String], address: SocketAddress, proto: WireProtocol,
        seed: UInt64
    ) -> [String: String] {
        var failures: [String: String] = [:]
        for workload in workloads {
            guard let loadCase = suite.cases.first(where: { $0.name == workload }) else { continue }
            var requests: [LoadRequest] = []
            for check in suite.checks where check.workloads.isEmpty || check.workloads.contains(workload) {
                requests += LoadRequests.make([check.request], host: address.description, check: check.name)
            }
            requests += LoadRequests.make(
                loadCase.requests(seed: seed, count: 5), host: address.description, check: loadCase.name)
            if let problem = check(requests, address: address, proto: proto) { failures[workload] = problem }
        }
        return failures
    }

    /// nil when every answer is right; otherwise what went wrong.
    static func check(_ requests: [LoadRequest], address: SocketAddress, proto: WireProtocol) -> String? {
        var options = LoadOptions(
            address: address, requests: requests, connections: 1, duration: 10,
            maxRequests: requests.count, timeout: 5, verifyEvery: 1)
        proto.apply(to: &options, streams: 1)
        do {
            let result = try LoadGenerator.run(options)
            if let reason = result.abortReason { return reason }
            if result.errors.total > 0 {
                let e = result.errors
                return
                    "\(e.total) errors (connect \(e.connect), read \(e.read), write \(e.write), timeout \(e.timeout), bad response \(e.badResponse))"
                    + (result.tlsFailures.first.map { "; TLS: \($0)" } ?? "")
            }
            if result.requests != UInt64(requests.count) {
                return "\(result.requests) of \(requests.count) requests answered"
            }
            if result.verified != UInt64(requests.count) {
                return "only \(result.verified) of \(requests.count) answers were checked"
            }
            if result.wrongAnswers > 0 {
                return "\(result.wrongAnswers) wrong answers: \(result.wrongAnswerExamples.joined(separator: "; "))"
            }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
