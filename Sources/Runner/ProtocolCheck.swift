import Contract
import LoadGen
import Posix

/// Checks a server's answers over a protocol other than cleartext HTTP/1.1,
/// through the load generator itself: every check of the suites and a few
/// variants of each workload, each answer checked in full, one at a time.
enum ProtocolCheck {
    /// nil when every answer is right; otherwise what went wrong.
    static func run(suites: [Suite], address: SocketAddress, proto: WireProtocol, seed: UInt64) -> String? {
        var requests: [LoadRequest] = []
        for suite in suites {
            for check in suite.checks {
                requests += LoadRequests.make([check.request], host: address.description, check: check.name)
            }
            for loadCase in suite.cases {
                requests += LoadRequests.make(loadCase.requests(seed: seed, count: 5), host: address.description, check: loadCase.name)
            }
        }
        var options = LoadOptions(address: address, requests: requests, connections: 1, duration: 10,
                                  maxRequests: requests.count, timeout: 5, verifyEvery: 1)
        proto.apply(to: &options, streams: 1)
        do {
            let result = try LoadGenerator.run(options)
            if let reason = result.abortReason { return reason }
            if result.errors.total > 0 {
                let e = result.errors
                return "\(e.total) errors (connect \(e.connect), read \(e.read), write \(e.write), timeout \(e.timeout), bad response \(e.badResponse))"
                    + (result.tlsFailures.first.map { "; TLS: \($0)" } ?? "")
            }
            if result.requests != UInt64(requests.count) { return "\(result.requests) of \(requests.count) requests answered" }
            if result.verified != UInt64(requests.count) { return "only \(result.verified) of \(requests.count) answers were checked" }
            if result.wrongAnswers > 0 { return "\(result.wrongAnswers) wrong answers: \(result.wrongAnswerExamples.joined(separator: "; "))" }
            return nil
        } catch {
            return "\(error)"
        }
    }
}
