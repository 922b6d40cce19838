import Accounting
import SuiteKit
import Posix
@testable import Suites
import Testing
#if canImport(Glibc)
    import Glibc
#endif

/// Every stack under bad clients keeps answering a well-behaved one, and
/// leaks no file descriptor or memory.
@Suite("stacks under bad clients", .serialized)
struct StackFaultTests {
    static func openDescriptors() -> Int {
        guard let dir = opendir("/proc/self/fd") else { return -1 }
        defer { closedir(dir) }
        var count = 0
        while readdir(dir) != nil { count += 1 }
        return count
    }

    static func residentBytes() -> Int {
        guard let text = try? String(decoding: readAll("/proc/self/statm"), as: UTF8.self) else { return 0 }
        return (Int(text.split(separator: " ")[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = read(fd, &buffer, buffer.count)
        return Array(buffer.prefix(max(0, n)))
    }

    /// Sends raw bytes on a new connection and reads until the server closes (or 2 s pass); the answer's status, or nil.
    static func exchange(_ address: SocketAddress, _ bytes: [UInt8], readAnswer: Bool = true) -> Int? {
        guard let fd = try? Socket.connect(to: address, timeoutSeconds: 2) else { return nil }
        defer { close(fd) }
        Socket.setTimeouts(fd, seconds: 2)
        _ = bytes.withUnsafeBytes { Socket.sendAll(fd, $0) }
        guard readAnswer else { return nil }
        var answer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while answer.count < 1 << 20 {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n <= 0 { break }
            answer += chunk[0..<n]
            if answer.count >= 12, answer.starts(with: Array("HTTP/1.1 ".utf8)) { break }
        }
        guard answer.count >= 12 else { return nil }
        return Int(String(decoding: answer[9..<12], as: UTF8.self))
    }

    /// A well-behaved client's check: a fresh keep-alive request answered right.
    static func healthy(_ client: ProbeClient) -> Bool {
        guard
            let answer = try? client.send(
                RequestSpec(target: "/plaintext", expectation: Expectation(status: 200, recommendedHeaders: [])))
        else {
            client.disconnect()
            return false
        }
        return answer.status == 200 && answer.body == Array("Hello, World!".utf8)
    }

    @Test(
        "oversized head (431), oversized body (413), 10,000 garbage requests and vanishing clients: the server keeps serving, nothing leaks",
        arguments: StackName.allCases)
    func survivesBadClients(_ stack: StackName) throws {
        let server = try startServer(stack, suiteNames: ["basic"], settings: ServerSettings())
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let good = ProbeClient(address: address)
        #expect(Self.healthy(good))
        // Warm every path once so that what is measured after is growth, not first use.
        _ = Self.exchange(address, Array("GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
        let fdsBefore = Self.openDescriptors()
        let rssBefore = Self.residentBytes()

        let bigHead =
            "GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "a", count: 100_000) + "\r\n\r\n"
        #expect(Self.exchange(address, Array(bigHead.utf8)) == 431, "an oversized header block")
        let bigBody =
            "POST /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: 50000000\r\n\r\n"
            + String(repeating: "b", count: 1000)
        #expect(Self.exchange(address, Array(bigBody.utf8)) == 413, "an oversized body")
        #expect(Self.healthy(good))

        // 10,000 requests of garbage, over 2,000 connections (five pipelined per connection).
        var generator = SystemRandomNumberGenerator()
        let shapes: [(inout SystemRandomNumberGenerator) -> [UInt8]] = [
            { g in (0..<Int.random(in: 1...200, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) } },
            { _ in Array("GET\r\n\r\n".utf8) },
            { _ in Array("GET / HTTP/9.9\r\n\r\n".utf8) },
            { _ in Array("GET /plaintext HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".utf8) },
            { _ in
                Array(
                    "GET /plaintext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n".utf8
                )
            },
            { _ in Array("\u{16}\u{03}\u{01}\u{02}\u{00}\u{01}\u{00}\u{01}\u{fc}\u{03}\u{03}".utf8) },
            { _ in Array("GET /plaintext HTTP/1.1\r\nHo\0st: x\r\n\r\n".utf8) },
        ]
        var answered400s = 0
        for i in 0..<2000 {
            var bytes: [UInt8] = []
            for k in 0..<5 { bytes += shapes[(i + k) % shapes.count](&generator) }
            if let status = Self.exchange(address, bytes), (400...599).contains(status) { answered400s += 1 }
            if i % 500 == 0 {
                #expect(Self.healthy(good), "a well-behaved client was refused during the garbage (\(i))")
            }
        }
        #expect(answered400s > 1000, "garbage should mostly get an error status before the close: \(answered400s)")

        // Clients that send a request and vanish before reading the answer (some with a reset).
        for i in 0..<1000 {
            guard let fd = try? Socket.connect(to: address, timeoutSeconds: 2) else { continue }
            let request = Array("GET /search?q=vanish&limit=100 HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            _ = request.withUnsafeBytes { Socket.sendAll(fd, $0) }
            if i % 2 == 0 {
                var linger = linger(l_onoff: 1, l_linger: 0)
                setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
            }
            close(fd)
        }
        #expect(Self.healthy(good))

        // Give the server a moment to close what the clients left, then count.
        var fdsAfter = Self.openDescriptors()
        for _ in 0..<50 where fdsAfter > fdsBefore + 2 {
            usleep(100_000)
            fdsAfter = Self.openDescriptors()
        }
        #expect(fdsAfter <= fdsBefore + 2, "file descriptors: \(fdsBefore) before, \(fdsAfter) after")
        // (A sanitizer holds freed memory in quarantine: resident memory says nothing there.)
        let grown = Self.residentBytes() - rssBefore
        #expect(grown < 32 << 20 || Jemalloc.leftOutBySanitizers, "resident memory grew by \(grown >> 20) MiB")
        #expect(Self.healthy(good))
    }

    /// recv without waiting: true when the server has closed the connection.
    static func closedByServer(_ fd: Int32) -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
        if n == 0 { return true }
        if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        // Something arrived (a 408): read on to the close.
        var rest = [UInt8](repeating: 0, count: 1024)
        Socket.setTimeouts(fd, seconds: 1)
        while recv(fd, &rest, rest.count, 0) > 0 {}
        return true
    }

    @Test(
        "a client sending a byte at a time is closed at the header timeout while others are served; connections over the limit are refused",
        arguments: StackName.allCases)
    func slowClientsAndConnectionLimit(_ stack: StackName) throws {
        let server = try startServer(
            stack, suiteNames: ["basic"],
            settings: ServerSettings(workers: 1, headerTimeoutSeconds: 1, maxConnections: 8))
        defer { server.stop() }
        let address = try SocketAddress(host: "127.0.0.1", port: server.port)
        let good = ProbeClient(address: address)
        #expect(Self.healthy(good))
        let fdsBefore = Self.openDescriptors()

        // Slowloris: a request head dribbled a byte every 250 ms, never finished in time.
        let slow = try Socket.connect(to: address, timeoutSeconds: 2)
        defer { close(slow) }
        let head = Array("GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8) + [UInt8](repeating: 0x61, count: 100)
        let started = Clock.monotonicNanos()
        var closedAfter: Double?
        var slowestGood = 0.0
        for byte in head {
            var b = byte
            if send(slow, &b, 1, Int32(MSG_NOSIGNAL)) < 0 || Self.closedByServer(slow) {
                closedAfter = Double(Clock.monotonicNanos() - started) / 1e9
                break
            }
            let t0 = Clock.monotonicNanos()
            #expect(Self.healthy(good), "a well-behaved client was not served while the slow one dribbled")
            slowestGood = max(slowestGood, Double(Clock.monotonicNanos() - t0) / 1e9)
            usleep(250_000)
            if Double(Clock.monotonicNanos() - started) / 1e9 > 6 { break }
        }
        let closed = try #require(closedAfter, "the slow client was never closed")
        #expect(closed >= 0.9 && closed < 3.5, "closed after \(closed) s with a 1 s header timeout")
        #expect(slowestGood < 0.5, "the well-behaved client waited \(slowestGood) s")

        // More connections than allowed: the good one holds a place; of twenty more, at most seven stay.
        var flood: [Int32] = []
        for _ in 0..<20 { if let fd = try? Socket.connect(to: address, timeoutSeconds: 2) { flood.append(fd) } }
        usleep(300_000)
        let refused = flood.filter(Self.closedByServer).count
        #expect(refused >= 13, "\(refused) of 20 connections over a limit of 8 were closed")
        #expect(Self.healthy(good), "the connection held before the flood stopped being served")
        for fd in flood { close(fd) }
        usleep(300_000)
        let fresh = ProbeClient(address: address)
        #expect(Self.healthy(fresh), "places freed by closed connections are not given back")
        fresh.disconnect()

        var fdsAfter = Self.openDescriptors()
        for _ in 0..<30 where fdsAfter > fdsBefore + 2 {
            usleep(100_000)
            fdsAfter = Self.openDescriptors()
        }
        #expect(fdsAfter <= fdsBefore + 2, "file descriptors: \(fdsBefore) before, \(fdsAfter) after")
    }
}
