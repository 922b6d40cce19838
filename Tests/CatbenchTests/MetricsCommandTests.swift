import Foundation
import Testing

/// Prometheus endpoints through the binary: a served stack's /metrics, and
/// catbench's own live figures during a run (--metrics-port).
@Suite("metrics on the command line", .serialized)
struct MetricsCommandTests {
    /// One GET over a fresh connection; the whole answer as text.
    static func get(port: Int, path: String) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BinaryHarness.Missing(description: "socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BinaryHarness.Missing(description: "cannot connect to port \(port)") }
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var answer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            answer += chunk[0..<n]
        }
        return String(decoding: answer, as: UTF8.self)
    }

    /// Starts the binary and waits for a line of its standard error or output holding `marker`; returns the process and the line.
    static func start(_ arguments: [String], waitingFor marker: String, inStandardError: Bool) throws -> (
        Process, String
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BinaryHarness.binary())
        process.arguments = arguments
        let pipe = Pipe()
        if inStandardError {
            process.standardError = pipe
            process.standardOutput = FileHandle.nullDevice
        } else {
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        var text = ""
        let handle = pipe.fileHandleForReading
        while !text.contains(marker) || !text[text.range(of: marker)!.upperBound...].contains("\n") {
            let data = handle.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.contains(marker) }.map(String.init) ?? ""
        return (process, line)
    }

    static func port(in line: String) -> Int? {
        guard let range = line.range(of: "127.0.0.1:") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
    }

    @Test("serve answers /metrics by default, counting the routes' answers")
    func serveMetrics() throws {
        let (serve, line) = try Self.start(
            ["serve", "--stack", "threaded", "--port", "0"], waitingFor: "serving", inStandardError: false)
        defer {
            serve.interrupt()
            serve.waitUntilExit()
        }
        #expect(line.contains("metrics at /metrics"), "\(line)")
        let port = try #require(Self.port(in: line), "no port in: \(line)")
        for _ in 0..<3 { #expect(try Self.get(port: port, path: "/json").hasPrefix("HTTP/1.1 200")) }
        let scrape = try Self.get(port: port, path: "/metrics")
        #expect(
            scrape.contains("http_requests_total{stack=\"threaded\",method=\"GET\",route=\"/json\",status=\"2xx\"} 3"),
            "\(scrape)")
    }

    @Test("run --metrics-port serves catbench's live figures during the run, and a port in use is refused")
    func runMetrics() throws {
        let (run, line) = try Self.start(
            [
                "run", "--stack", "ccore", "--duration", "1s", "--warmup", "0", "--repeat", "3",
                "--metrics-port", "0", "--out", NSTemporaryDirectory() + "catbench-metrics-\(getpid()).json",
            ],
            waitingFor: "live metrics at", inStandardError: true)
        defer {
            run.interrupt()
            run.waitUntilExit()
        }
        let port = try #require(Self.port(in: line), "no port in: \(line)")
        usleep(2_500_000)
        let scrape = try Self.get(port: port, path: "/metrics")
        #expect(scrape.hasPrefix("HTTP/1.1 200"), "\(scrape.prefix(300))")
        #expect(scrape.contains("catbench_run_answers_total "), "\(scrape)")
        #expect(scrape.contains("catbench_run_load_remaining_seconds "))
        #expect(scrape.contains("catbench_run_step_info{step=\"ccore · basic/"), "\(scrape)")
        #expect(
            scrape.contains(
                "catbench_run_last_repetition_requests_per_second{server=\"ccore\",suite=\"basic\",workload=\"plaintext\",protocol=\"http/1.1\",mode=\"c64\"} "
            ), "\(scrape)")
        #expect(
            scrape.contains(
                "catbench_run_last_repetition_latency_seconds{server=\"ccore\",suite=\"basic\",workload=\"plaintext\",protocol=\"http/1.1\",mode=\"c64\",quantile=\"0.99\"} "
            ))
        let answers =
            scrape.split(separator: "\n").first { $0.hasPrefix("catbench_run_answers_total ") }.flatMap {
                Double($0.split(separator: " ")[1])
            } ?? 0
        #expect(answers > 10_000, "answers so far: \(answers)")

        let busy = try BinaryHarness.run(
            try BinaryHarness.binary(),
            ["run", "--stack", "ccore", "--metrics-port", String(port), "--duration", "200ms"])
        #expect(busy.status != 0 && busy.stderr.contains("--metrics-port \(port)"), "\(busy.stderr)")
    }
}
