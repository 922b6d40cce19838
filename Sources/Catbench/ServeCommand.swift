import ArgumentParser
import SuiteKit
import Dispatch
import Posix
import Runner
import Suites

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve one embedded stack alone, so any tool (curl, wrk, a browser) can hit it.")

    @Option(help: "Stack to serve: ccore, async, threaded.")
    var stack: String

    @Option(
        name: .customLong("suite"),
        help:
            "Suite whose routes to serve (repeatable). Known: \(Catalog.names.joined(separator: ", ")) (async is async-ops)."
    )
    var suites: [String] = Catalog.defaultSuites

    @Option(help: "Address to listen on (numeric IPv4 or IPv6).")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one and prints it.")
    var port: UInt16 = 8080

    @Option(help: "Worker threads or event loops.")
    var workers = 1

    @Option(
        help:
            "The database suite's database: sqlite (the default), postgres (a cluster catbench starts), or a postgres:// address."
    )
    var db = "sqlite"

    @Flag(help: "Serve TLS (HTTP/2 or HTTP/1.1 by ALPN) with a self-signed certificate made now.")
    var tls = false

    @Option(help: "Serve TLS with this PEM certificate chain (with --key).")
    var cert: String?

    @Option(help: "The PEM private key for --cert.")
    var key: String?

    @Flag(help: "Do not accept HTTP/2 with prior knowledge (h2c) on the cleartext port.")
    var noH2c = false

    @Flag(help: "Do not serve Prometheus metrics at /metrics (nor count answers for them).")
    var noMetrics = false

    func run() throws {
        guard let stackName = StackName(rawValue: stack) else {
            throw ValidationError(
                "unknown stack '\(stack)'; known stacks: \(StackName.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard (1...256).contains(workers) else { throw ValidationError("--workers must be within 1…256") }
        do {
            let choice = try DatabaseService.Choice(parsing: db)
            DatabaseService.choice.withLock { $0 = choice }
        } catch {
            throw ValidationError("--db \(db): \(error)")
        }
        guard (cert == nil) == (key == nil) else { throw ValidationError("--cert and --key go together") }
        var material: TLSMaterial?
        do {
            if let cert, let key {
                material = try TLSMaterial.files(certificate: cert, key: key)
            } else if tls {
                material = try TLSMaterial.selfSigned()
            }
        } catch {
            OutputFile.standardError("catbench: \(error)")
            throw ExitCode(2)
        }
        let stopped = DispatchSemaphore(value: 0)
        try SignalWatcher.install { _ in stopped.signal() }
        let server: EmbeddedServer
        do {
            server = try startServer(
                stackName, suiteNames: suites,
                settings: ServerSettings(
                    host: host, port: port, workers: workers, h2c: !noH2c && stackName.speaksHTTP2, tls: material,
                    metrics: !noMetrics))
            // The services its suites need (the upstream) are started with it and stopped with it.
        } catch {
            OutputFile.standardError("catbench: \(error)")
            throw ExitCode(2)
        }
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let scheme = material == nil ? "http" : "https"
        let protocols =
            material != nil
            ? (stackName.speaksHTTP2 ? "h2 and HTTP/1.1 by ALPN" : "HTTP/1.1 over TLS")
            : (!noH2c && stackName.speaksHTTP2 ? "HTTP/1.1 and h2c" : "HTTP/1.1")
        OutputFile.standardOutput(
            "serving \(stackName.rawValue) (\(suites.joined(separator: ", "))) on \(scheme)://\(shownHost):\(server.port)/ (\(protocols)) with \(workers) worker(s)\(noMetrics ? "" : "; metrics at \(ServerMetrics.path)"); Ctrl-C stops\n"
        )
        stopped.wait()
        server.stop()
        OutputFile.standardError("stopped; \(server.requestsServed) requests served")
    }
}
