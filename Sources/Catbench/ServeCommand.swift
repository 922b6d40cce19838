import ArgumentParser
import Dispatch
import Posix
import SuiteApps

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve one embedded stack alone, so any tool (curl, wrk, a browser) can hit it.")

    @Option(help: "Stack to serve: ccore, async, threaded.")
    var stack: String

    @Option(name: .customLong("suite"), help: "Suite whose routes to serve (repeatable). Known: basic.")
    var suites: [String] = ["basic"]

    @Option(help: "Address to listen on (numeric IPv4 or IPv6).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one and prints it.")
    var port: UInt16 = 8080

    @Option(help: "Worker threads or event loops.")
    var workers = 1

    func run() throws {
        guard let stackName = StackName(rawValue: stack) else {
            throw ValidationError("unknown stack '\(stack)'; known stacks: \(StackName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be within 1…256") }
        let stopped = DispatchSemaphore(value: 0)
        try SignalWatcher.install { _ in stopped.signal() }
        let server: EmbeddedServer
        do {
            server = try startServer(stackName, suites: suites, settings: ServerSettings(host: host, port: port, workers: workers))
        } catch {
            OutputFile.standardError("catbench: \(error)")
            throw ExitCode(2)
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        OutputFile.standardOutput("serving \(stackName.rawValue) (\(suites.joined(separator: ", "))) on http://\(shownHost):\(server.port)/ with \(workers) worker(s); Ctrl-C stops\n")
        stopped.wait()
        server.stop()
        OutputFile.standardError("stopped; \(server.requestsServed) requests served")
    }
}
