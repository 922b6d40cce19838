import ArgumentParser
import Contract
import LoadGen
import Posix

/// Checks any running server against the contract, without measuring it:
/// the tool a framework author uses while implementing the suites.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a running server against suites of the contract (the same checks a run makes before measuring).",
        discussion: "Exits 0 when every check passes, 1 when one fails. Warnings (a missing recommended header) do not fail.")

    @Argument(help: "The server, e.g. http://127.0.0.1:8000 (cleartext HTTP/1.1).")
    var url: String

    @Option(name: .customLong("suite"), help: "Suite to check (repeatable). Known: \(Suite.all.map(\.name).joined(separator: ", ")). Default: basic.")
    var suites: [String] = []

    @Option(name: .customLong("skip"), help: "Leave out a suite, case or check: 'suite', 'suite/case' or 'suite/check name' (repeatable).")
    var skipped: [String] = []

    func run() throws {
        let target = try TargetURL(url)
        guard !target.secure else { throw ValidationError("verify speaks cleartext HTTP/1.1; give an http:// URL") }
        let address = try SocketAddress(host: target.host, port: target.port)
        let names = suites.isEmpty ? ["basic"] : suites
        let exclusions = Exclusions(skipped)
        if let unknown = exclusions.unknownKeys().first {
            throw ValidationError("--skip '\(unknown)' names no suite, case, check or scenario")
        }
        var failed = false
        for name in names {
            guard let suite = Suite.named(name) else {
                throw ValidationError("unknown suite '\(name)'; known suites: \(Suite.all.map(\.name).joined(separator: ", "))")
            }
            if exclusions.excludesSuite(name) {
                print("\(name): skipped")
                continue
            }
            let report = Verifier.verify(suite: suite, address: address, exclusions: exclusions)
            print("\(name): \(report.checksRun) checks, \(report.failures.count) failures, \(report.warnings.count) warnings"
                  + (report.skipped.isEmpty ? "" : ", \(report.skipped.count) not applicable"))
            for finding in report.failures + report.warnings { print("  \(finding)") }
            if !report.passed { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}
