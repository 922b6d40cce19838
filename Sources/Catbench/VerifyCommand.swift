import ArgumentParser
import LoadGen
import Posix
import SuiteKit
import Suites

/// Checks any running server against the contract, without measuring it:
/// the tool a framework author uses while implementing the suites.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Check a running server against suites of the contract (the same checks a run makes before measuring).",
        discussion: """
            Exits 0 when every check passes, 1 when one fails. Warnings (a missing recommended header) do not fail. \
            The async-ops suite counts the server's upstream calls at the upstream itself: start one with \
            `catbench upstream`, start your server with CATBENCH_UPSTREAM set to its address, and pass --upstream.
            """)

    @Argument(help: "The server, e.g. http://127.0.0.1:8000 (cleartext HTTP/1.1).")
    var url: String

    @Option(
        name: .customLong("suite"),
        help: "Suite to check (repeatable). Known: \(Catalog.names.joined(separator: ", ")). Default: basic.")
    var suites: [String] = []

    @Option(
        name: .customLong("skip"),
        help: "Leave out a suite, workload or check: 'suite', 'suite/workload' or 'suite/check name' (repeatable).")
    var skipped: [String] = []

    @Option(
        name: .customLong("waive"),
        help:
            "Waive a part of checks your framework cannot express: 'suite/aspect' (repeatable; `catbench contract` lists the aspects)."
    )
    var waived: [String] = []

    @Option(
        help: "The upstream (HOST:PORT) your server calls, a `catbench upstream`, for the async-ops suite's counts.")
    var upstream: String?

    func run() throws {
        let target = try TargetURL(url)
        guard !target.secure else { throw ValidationError("verify speaks cleartext HTTP/1.1; give an http:// URL") }
        let address = try SocketAddress(host: target.host, port: target.port)
        let chosen: [any CatalogSuite.Type]
        do {
            chosen = try Catalog.resolve(suites.isEmpty ? Catalog.defaultSuites : suites)
        } catch {
            throw ValidationError("\(error)")
        }
        let skips = Exclusions(skipped)
        let exclusions = Exclusions(
            reasons: skips.reasons,
            waivers: Dictionary(waived.map { ($0, "waived on request") }, uniquingKeysWith: { a, _ in a }))
        if let unknown = exclusions.unknownKeys(in: Catalog.contracts).first {
            throw ValidationError("'\(unknown)' names no suite, workload, check, scenario or aspect")
        }
        var services = ServiceDirectory()
        if let upstream {
            let parts = upstream.split(separator: ":")
            guard parts.count == 2, let port = UInt16(parts[1]) else {
                throw ValidationError("--upstream takes HOST:PORT")
            }
            services = ServiceDirectory([UpstreamService.attach(try SocketAddress(host: String(parts[0]), port: port))])
        }
        var failed = false
        for suite in chosen.map({ $0.contract }) {
            if exclusions.excludesSuite(suite.name) {
                print("\(suite.name): skipped")
                continue
            }
            let report = Verifier.verify(suite: suite, address: address, exclusions: exclusions, services: services)
            print(
                "\(suite.name): \(report.checksRun) checks, \(report.failures.count) failures, \(report.warnings.count) warnings"
                    + (report.skipped.isEmpty ? "" : ", \(report.skipped.count) not applicable or waived"))
            let failedWorkloads = report.failedWorkloads(of: suite).keys.sorted()
            if !failedWorkloads.isEmpty {
                print("  workloads that would not be measured: \(failedWorkloads.joined(separator: ", "))")
            }
            for finding in report.failures + report.warnings { print("  \(finding)") }
            if !report.passed { failed = true }
        }
        if failed { throw ExitCode(1) }
    }
}
