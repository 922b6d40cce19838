import SuiteKit
import LoadGen

/// Turns a suite's requests into the load generator's pre-encoded requests,
/// each carrying the full check the verifier uses, for sampled answers.
enum LoadRequests {
    static func make(_ specs: [RequestSpec], host: String, check name: String) -> [LoadRequest] {
        specs.map { spec in
            let expectation = spec.expectation
            return LoadRequest(
                bytes: spec.encoded(host: host),
                // With several acceptable statuses only the full check can judge.
                expectedStatus: expectation.statuses.count == 1 ? expectation.primaryStatus : 0,
                isHead: spec.method == "HEAD",
                check: { sampled in
                    let response = HTTPResponse(status: sampled.status, headers: sampled.headers, body: sampled.body)
                    let failures = expectation.findings(for: response, check: name).filter { $0.level == .failure }
                    return failures.first.map { "\(spec.target): \($0.message)" }
                })
        }
    }
}
