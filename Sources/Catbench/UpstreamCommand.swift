import ArgumentParser
import Dispatch
import Posix
import SuiteKit
import Suites

/// The async-ops suite's upstream on its own, for checking a server of your
/// own with `catbench verify --upstream`.
struct UpstreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upstream",
        abstract: "Serve the async-ops suite's upstream (GET /delay?n=K[&ms=M][&group=G]) on 127.0.0.1 until Ctrl-C.")

    func run() throws {
        let stopped = DispatchSemaphore(value: 0)
        try SignalWatcher.install { _ in stopped.signal() }
        let upstream = try UpstreamService.start()
        OutputFile.standardOutput(
            "upstream on http://\(upstream.address)/ — start your server with "
                + "CATBENCH_UPSTREAM=\(upstream.address), then: catbench verify URL --suite async-ops "
                + "--upstream \(upstream.address); Ctrl-C stops\n")
        stopped.wait()
        upstream.stop()
    }
}
