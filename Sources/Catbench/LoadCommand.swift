import ArgumentParser
import Atomics
import FoundationEssentials
import LoadGen
import Posix
import Results
#if canImport(Glibc)
    import Glibc
#endif

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

    @Option(
        name: [.customShort("d"), .long], help: "Duration of the load, e.g. 10s, 500ms (default 10s, or none with -n).")
    var duration: DurationArgument?

    @Option(
        name: [.customShort("n"), .customLong("requests")],
        help: "Send exactly this many requests, then stop (with -d, whichever comes first).")
    var requests: Int?

    @Option(help: "Seconds an answer may take before it counts as a timeout.")
    var timeout = DurationArgument(seconds: 2)

    @Option(
        name: [.customShort("H"), .customLong("header")], help: "Extra request header, 'Name: value' (repeatable).")
    var headers: [String] = []

    @Option(name: [.customShort("X"), .customLong("method")], help: "Request method.")
    var method = "GET"

    @Option(help: "Request body text.")
    var body: String?

    @Option(help: "Request body read from a file.")
    var bodyFile: String?

    @Option(help: "A multipart/form-data part: 'name=value', or 'name=@path' for a file (repeatable).")
    var multipart: [String] = []

    @Flag(
        help:
            "Expand placeholders in the URL, header values and body: {{int:MIN:MAX}}, {{word}}, {{uuid}}, {{hex:N}}, {{email}}, {{seq}}."
    )
    var template = false

    @Option(help: "Distinct requests drawn from the templates.")
    var variants = 1024

    @Option(help: "Seed of the template generator (same seed, same requests).")
    var seed: UInt64 = 1

    @Option(
        name: [.customShort("R"), .customLong("rate")],
        help:
            "Open loop: requests per second at a constant rate; latency from each request's intended send time (coordinated-omission correction)."
    )
    var rate: Double?

    @Option(help: "HTTP/1.1 requests in flight per connection (pipelining).")
    var pipeline = 1

    @Flag(help: "Open a new connection for every request (latency includes connecting).")
    var noKeepalive = false

    @Option(help: "Users over time: constant, baseline (one connection), ramp, spike, sustained.")
    var profile = "constant"

    @Option(help: "Ramp: users at the start.")
    var rampFrom = 1

    @Option(help: "Ramp: time to reach all connections (default: the whole duration).")
    var rampTime: DurationArgument?

    @Option(help: "Spike: users before and after the spike (default: a tenth of the connections).")
    var spikeBase: Int?

    @Option(help: "Spike: when it starts (default: 40% of the duration).")
    var spikeAt: DurationArgument?

    @Option(help: "Spike: how long it lasts (default: 20% of the duration).")
    var spikeLength: DurationArgument?

    @Option(help: "Count answers with another status as wrong answers.")
    var expectStatus: Int?

    @Flag(help: "http: speak HTTP/2 with prior knowledge (h2c).")
    var h2c = false

    @Flag(help: "https: offer only HTTP/1.1 (by default ALPN offers h2 first).")
    var h1 = false

    @Option(name: [.customShort("m"), .customLong("streams")], help: "HTTP/2 streams in flight per connection.")
    var streams = 1

    @Flag(help: "https: do not verify the server's certificate (self-signed servers).")
    var insecure = false

    @Option(help: "https: verify the server's certificate against the CAs in this PEM file.")
    var cacert: String?

    @Option(help: "Write the result as JSON to this file, or '-' for standard output.")
    var json: String?

    func run() throws {
        let target: TargetURL
        do {
            target = try TargetURL(url)
        } catch {
            throw ValidationError("\(error)")
        }
        var builder = RequestBuilder(target: target.pathAndQuery)
        builder.method = method.uppercased()
        builder.templates = template
        builder.expectedStatus = expectStatus ?? 0
        for header in headers {
            guard let colon = header.firstIndex(of: ":"), colon != header.startIndex else {
                throw ValidationError("header '\(header)' must look like 'Name: value'")
            }
            builder.headers.append(
                (String(header[..<colon]), String(header[header.index(after: colon)...].drop { $0 == " " })))
        }
        let bodies = [body != nil, bodyFile != nil, !multipart.isEmpty].filter { $0 }.count
        guard bodies <= 1 else { throw ValidationError("use one of --body, --body-file and --multipart") }
        if let body { builder.body = .bytes(Array(body.utf8)) }
        if let bodyFile { builder.body = .bytes(try readFile(bodyFile)) }
        if !multipart.isEmpty {
            builder.body = .multipart(
                try multipart.map { spec in
                    guard let eq = spec.firstIndex(of: "="), eq != spec.startIndex else {
                        throw ValidationError("--multipart '\(spec)' must look like 'name=value' or 'name=@path'")
                    }
                    let name = String(spec[..<eq])
                    let value = spec[spec.index(after: eq)...]
                    if value.hasPrefix("@") {
                        let path = String(value.dropFirst())
                        return .file(
                            name: name, filename: String(path.split(separator: "/").last ?? "file"),
                            contentType: "application/octet-stream", bytes: try readFile(path))
                    }
                    return .field(name: name, value: String(value))
                })
        }
        let requests: [LoadRequest]
        do {
            requests = try builder.build(variants: variants, seed: seed)
        } catch {
            throw ValidationError("\(error)")
        }
        var connections = self.connections
        // -n alone runs until the count; -d alone (or neither: 10 s) for a time; both, whichever ends first.
        let seconds: Double? = duration?.seconds ?? (self.requests == nil ? 10 : nil)
        let span = seconds ?? 10
        let loadProfile: LoadProfile
        switch profile {
        case "constant", "sustained":
            loadProfile = .constant
        case "baseline":
            loadProfile = .constant
            connections = 1
        case "ramp":
            loadProfile = .ramp(from: rampFrom, seconds: rampTime?.seconds ?? span)
        case "spike":
            loadProfile = .spike(
                base: spikeBase ?? max(1, connections / 10), at: spikeAt?.seconds ?? span * 0.4,
                length: spikeLength?.seconds ?? span * 0.2)
        default:
            throw ValidationError("unknown profile '\(profile)'; known: constant, baseline, ramp, spike, sustained")
        }
        let address = try SocketAddress(host: target.host, port: target.port)
        guard !(h2c && target.secure) else {
            throw ValidationError("--h2c is for http:// URLs; https:// negotiates h2 by ALPN")
        }
        guard !(h1 && h2c) else { throw ValidationError("--h1 and --h2c exclude each other") }
        let tls =
            target.secure
            ? TLSOptions(
                serverName: target.host, insecure: insecure, caFile: cacert,
                alpn: h1 ? ["http/1.1"] : ["h2", "http/1.1"])
            : nil
        let stop = ManagedAtomic<Bool>(false)
        try SignalWatcher.install { _ in stop.store(true, ordering: .relaxed) }
        let options = LoadOptions(
            address: address, requests: requests, host: target.hostHeader,
            connections: connections, threads: min(threads, connections),
            duration: seconds, maxRequests: self.requests, timeout: timeout.seconds, pipeline: pipeline,
            keepAlive: !noKeepalive, rate: rate, profile: loadProfile, tls: tls,
            http2: h2c, maxStreams: streams, stop: stop)
        let result: LoadResult
        do {
            result = try LoadGenerator.run(options)
        } catch {
            throw ValidationError("\(error)")
        }
        let summary = LoadSummary(result: result, url: url, options: options, profileName: profile)
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

    private func readFile(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw ValidationError("cannot read \(path): \(String(cString: strerror(errno)))") }
            if n == 0 { return bytes }
            bytes += chunk[0..<n]
            guard bytes.count <= 256 << 20 else { throw ValidationError("\(path) is larger than 256 MiB") }
        }
    }
}

/// The answer of `catbench load`: a wrk-like text and a JSON document.
struct LoadSummary {
    let result: LoadResult
    let url: String
    let options: LoadOptions
    let profileName: String

    var text: String {
        let r = result
        func f(_ v: Double, _ d: Int = 1) -> String { TableRenderer.format(v, decimals: d) }
        var out =
            "Running \(f(r.seconds, 2))s test @ \(url)\n  \(options.threads) thread(s) and \(options.connections) connection(s)"
        if options.pipeline > 1 { out += ", \(options.pipeline) requests pipelined" }
        if options.http2 { out += ", h2c" }
        if options.maxStreams > 1 { out += ", \(options.maxStreams) streams each" }
        if !r.negotiated.isEmpty {
            out +=
                ", TLS ALPN "
                + r.negotiated.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
        }
        if !options.keepAlive { out += ", a connection per request" }
        if let rate = options.rate { out += ", open loop at \(f(rate, 0)) requests/s" }
        if profileName != "constant" { out += ", profile \(options.profile)" }
        out += "\n"
        let corrected = options.rate != nil ? " (from intended send times)" : ""
        out +=
            "  Latency µs\(corrected): p50 \(f(r.latencyMicros(50))), p90 \(f(r.latencyMicros(90))), p99 \(f(r.latencyMicros(99))), p99.9 \(f(r.latencyMicros(99.9))), max \(f(r.maxLatencyMicros))\n"
        if let p50 = r.uncorrectedMicros(50), let p99 = r.uncorrectedMicros(99) {
            out += "  Uncorrected µs: p50 \(f(p50)), p99 \(f(p99))\n"
        }
        out += "  \(r.requests) requests in \(f(r.seconds, 2))s, \(r.bytesRead) bytes read\n"
        if r.unsent > 0 {
            out +=
                "  \(r.unsent) requests due but never sent (every connection busy);"
                + " their wait to the end is in the latency\n"
        }
        let statuses = r.statusCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(
            separator: ", ")
        out += "  Status codes: \(statuses.isEmpty ? "none" : statuses)\n"
        let e = r.errors
        if e.total > 0 {
            out +=
                "  Errors: connect \(e.connect), read \(e.read), write \(e.write), timeout \(e.timeout), bad response \(e.badResponse)\n"
        }
        if r.wrongAnswers > 0 { out += "  Wrong answers: \(r.wrongAnswers)\n" }
        for failure in r.tlsFailures { out += "  TLS: \(failure)\n" }
        if let reason = r.abortReason { out += "  Stopped early: \(reason)\n" }
        out += "Requests/sec: \(f(r.requestsPerSecond, 2))\n"
        if r.interrupted { out += "(interrupted)\n" }
        return out
    }

    struct Document: Encodable {
        struct Latency: Encodable { let p50, p90, p99, p999, max, mean: Double }
        struct Errors: Encodable { let connect, read, write, timeout, badResponse: UInt64 }
        struct Second: Encodable {
            let second: Int
            let requests: UInt64
            let errors: UInt64
            let p50Us: Double
            let p99Us: Double
            let activeConnections: Int
        }
        struct Settings: Encodable {
            let connections: Int
            let threads: Int
            let durationSeconds: Double?
            let maxRequests: Int?
            let timeoutSeconds: Double
            let pipeline: Int
            let keepAlive: Bool
            let rate: Double?
            let profile: String
            let requestVariants: Int
        }
        let url: String
        let connections: Int
        let threads: Int
        let settings: Settings
        let requests: UInt64
        let sent: UInt64
        /// Open loop: requests due before the end and never sent (each in the latency with its wait to the end).
        let unsent: UInt64
        let seconds: Double
        let rps: Double
        let latencyUs: Latency
        let uncorrectedLatencyUs: Latency?
        let statusCounts: [String: UInt64]
        let errors: Errors
        let wrongAnswers: UInt64
        let bytesRead: UInt64
        let connectionsOpened: UInt64
        let loadCpuUsPerRequest: Double?
        let timeline: [Second]
        let interrupted: Bool
        let tlsFailures: [String]
        let negotiated: [String: UInt64]
        let protocolName: String
        let abortReason: String?
    }

    func json() throws -> String {
        let r = result
        var uncorrected: Document.Latency?
        if let h = r.uncorrectedLatency, h.totalCount > 0 {
            func p(_ q: Double) -> Double { Double(h.valueAtPercentile(q)) / 1000 }
            uncorrected = .init(
                p50: p(50), p90: p(90), p99: p(99), p999: p(99.9), max: Double(h.max) / 1000, mean: h.mean / 1000)
        }
        let doc = Document(
            url: url, connections: options.connections, threads: options.threads,
            settings: .init(
                connections: options.connections, threads: options.threads, durationSeconds: options.duration,
                maxRequests: options.maxRequests, timeoutSeconds: options.timeout, pipeline: options.pipeline,
                keepAlive: options.keepAlive, rate: options.rate, profile: "\(profileName): \(options.profile)",
                requestVariants: options.requests.count),
            requests: r.requests, sent: r.sent, unsent: r.unsent, seconds: r.seconds, rps: r.requestsPerSecond,
            latencyUs: .init(
                p50: r.latencyMicros(50), p90: r.latencyMicros(90), p99: r.latencyMicros(99),
                p999: r.latencyMicros(99.9), max: r.maxLatencyMicros, mean: r.meanLatencyMicros),
            uncorrectedLatencyUs: uncorrected,
            statusCounts: Dictionary(uniqueKeysWithValues: r.statusCounts.map { (String($0.key), $0.value) }),
            errors: .init(
                connect: r.errors.connect, read: r.errors.read, write: r.errors.write, timeout: r.errors.timeout,
                badResponse: r.errors.badResponse),
            wrongAnswers: r.wrongAnswers, bytesRead: r.bytesRead, connectionsOpened: r.connectionsOpened,
            loadCpuUsPerRequest: r.requests > 0 ? Double(r.cpuNanos) / 1000 / Double(r.requests) : nil,
            timeline: r.timeline.map {
                .init(
                    second: $0.second, requests: $0.requests, errors: $0.errors, p50Us: $0.p50Micros,
                    p99Us: $0.p99Micros, activeConnections: $0.activeConnections)
            },
            interrupted: r.interrupted, tlsFailures: r.tlsFailures, negotiated: r.negotiated,
            protocolName: options.http2 || r.negotiated["h2"] != nil
                ? "h2" + (options.tls == nil ? "c" : "") : "http/1.1",
            abortReason: r.abortReason)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(doc), as: UTF8.self) + "\n"
    }
}
