import SuiteKit
import LoadGen

/// Turns a suite's requests into the load generator's structured requests,
/// each carrying the full check the verifier uses, for sampled answers.
enum LoadRequests {
    /// `waived` gives the reason a server declared an aspect of the checks
    /// waived (as in verification), or nil: sampled answers are judged alike.
    static func make(
        _ specs: [RequestSpec], host: String, check name: String,
        waived: @escaping @Sendable (String) -> String? = { _ in nil }
    ) -> [LoadRequest] {
        // Variants that share one body array (a file upload) share one stored body.
        var bodies = RequestBodyPool()
        return specs.map { spec in
            let expectation = spec.expectation
            let named = spec.headers.contains { $0.name.lowercased() == "host" }
            return LoadRequest(
                method: spec.method, target: spec.target,
                headers: named ? spec.headers : [("Host", host)] + spec.headers,
                body: bodies.body(spec.body),
                // With several acceptable statuses only the full check can judge.
                expectedStatus: expectation.statuses.count == 1 ? expectation.primaryStatus : 0,
                check: { sampled in
                    let response = HTTPResponse(status: sampled.status, headers: sampled.headers, body: sampled.body)
                    let failures = expectation.findings(for: response, check: name, method: spec.method, waived: waived)
                        .filter {
                            $0.level == .failure
                        }
                    return failures.first.map { "\(spec.target): \($0.message)" }
                })
        }
    }
}
