import ArgumentParser
import Atomics
import FoundationEssentials
import LoadGen
import Posix
import Results

struct LoadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Load-test a URL over HTTP/1.1 keep-alive (flags in the style of wrk).")

    @Argument(help: "Target, e.g. http://127.0.0.1:8080/plaintext")
    var url: String

    @Option(name: [.customShort("c"), .long], help: "Connections to keep open.")
    var connections = 64

    @Option(name: [.customShort("t"), .long], help: "Threads, each with its own epoll loop.")
    var threads = 1

    @Option(name: [.customShort("d"), .long], help: "Duration of the load, e.g. 10s, 500ms.")
    var duration = DurationArgument(seconds: 10)

    @Option(name: [.customShort("n"), .customLong("requests")], help: "Send exactly this many requests, then stop (with -d, whichever comes first).")
    var requests: Int?

    @Option(help: "Seconds an answer may take before it counts as a timeout.")
    var timeout = DurationArgument(seconds: 2)

    @Option(name: [.customShort("H"), .customLong("header")], help: "Extra request header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(help: "Count answers with another status as wrong answers.")
    var expectStatus: Int?

    @Option(help: "Write the result as JSON to this file, or '-' for standard output.")
    var json: String?

    func run() throws {
        let target: TargetURL
        do {
            target = try TargetURL(url)
        } catch {
            throw ValidationError("\(error)")
        }
        var extra: [(String, String)] = []
        for header in headers {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                throw ValidationError("header '\(header)' must look like 'Name: value'")
            }
            extra.append((String(header[..<colon]), String(header[header.index(after: colon)...].drop { $0 == " " })))
        }
        let address = try SocketAddress(host: target.host, port: target.port)
        let request = LoadRequest.get(target.pathAndQuery, host: target.hostHeader, headers: extra, expectedStatus: expectStatus ?? 0)
        let stop = ManagedAtomic<Bool>(false)
        try SignalWatcher.install { _ in stop.store(true, ordering: .relaxed) }
        let options = LoadOptions(address: address, requests: [request], connections: connections, threads: threads,
                                  duration: requests == nil || duration.seconds > 0 ? duration.seconds : nil,
                                  maxRequests: requests, timeout: timeout.seconds, stop: stop)
        let result: LoadResult
        do {
            result = try LoadGenerator.run(options)
        } catch {
            throw ValidationError("\(error)")
        }
        let summary = LoadSummary(result: result, url: url, connections: connections, threads: threads)
        if json == "-" {
            OutputFile.standardError(summary.text)
            OutputFile.standardOutput(try summary.json())
        } else {
            OutputFile.standardOutput(summary.text)
            if let json { try OutputFile.writeAtomically(Array(try summary.json().utf8), to: json) }
        }
        if result.interrupted { throw ExitCode(130) }
        if result.requests == 0 { throw ExitCode(1) }
    }
}

/// The answer of `catbench load`: a wrk-like text and a JSON document.
struct LoadSummary {
    let result: LoadResult
    let url: String
    let connections: Int
    let threads: Int

    var text: String {
        let r = result
        func f(_ v: Double, _ d: Int = 1) -> String { TableRenderer.format(v, decimals: d) }
        var out = "Running \(f(r.seconds, 2))s test @ \(url)\n  \(threads) thread(s) and \(connections) connection(s)\n"
        out += "  Latency µs: p50 \(f(r.latencyMicros(50))), p90 \(f(r.latencyMicros(90))), p99 \(f(r.latencyMicros(99))), p99.9 \(f(r.latencyMicros(99.9))), max \(f(r.maxLatencyMicros))\n"
        out += "  \(r.requests) requests in \(f(r.seconds, 2))s, \(r.bytesRead) bytes read\n"
        let statuses = r.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        out += "  Status codes: \(statuses.isEmpty ? "none" : statuses)\n"
        let e = r.errors
        if e.total > 0 {
            out += "  Errors: connect \(e.connect), read \(e.read), write \(e.write), timeout \(e.timeout), bad response \(e.badResponse)\n"
        }
        if r.wrongAnswers > 0 { out += "  Wrong answers: \(r.wrongAnswers)\n" }
        out += "Requests/sec: \(f(r.requestsPerSecond, 2))\n"
        if r.interrupted { out += "(interrupted)\n" }
        return out
    }

    struct Document: Encodable {
        struct Latency: Encodable { let p50, p90, p99, p999, max, mean: Double }
        struct Errors: Encodable { let connect, read, write, timeout, badResponse: UInt64 }
        let url: String
        let connections: Int
        let threads: Int
        let requests: UInt64
        let sent: UInt64
        let seconds: Double
        let rps: Double
        let latencyUs: Latency
        let statusCounts: [String: UInt64]
        let errors: Errors
        let wrongAnswers: UInt64
        let bytesRead: UInt64
        let loadCpuUsPerRequest: Double?
        let interrupted: Bool
    }

    func json() throws -> String {
        let r = result
        let doc = Document(
            url: url, connections: connections, threads: threads, requests: r.requests, sent: r.sent, seconds: r.seconds,
            rps: r.requestsPerSecond,
            latencyUs: .init(p50: r.latencyMicros(50), p90: r.latencyMicros(90), p99: r.latencyMicros(99),
                             p999: r.latencyMicros(99.9), max: r.maxLatencyMicros, mean: r.meanLatencyMicros),
            statusCounts: Dictionary(uniqueKeysWithValues: r.statusCounts.map { (String($0.key), $0.value) }),
            errors: .init(connect: r.errors.connect, read: r.errors.read, write: r.errors.write, timeout: r.errors.timeout,
                          badResponse: r.errors.badResponse),
            wrongAnswers: r.wrongAnswers, bytesRead: r.bytesRead,
            loadCpuUsPerRequest: r.requests > 0 ? Double(r.cpuNanos) / 1000 / Double(r.requests) : nil,
            interrupted: r.interrupted)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(doc), as: UTF8.self) + "\n"
    }
}
