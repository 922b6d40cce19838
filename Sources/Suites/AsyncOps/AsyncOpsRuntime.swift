import Posix
import SuiteKit
import WireFormat
#if canImport(Glibc)
    import Glibc
#endif

extension WorkerPool: ServerThreads {}

/// What the async-operations suite's handlers use on one server instance,
/// made when the server starts and closed when it stops: a worker pool, the
/// upstream client (their threads start with the server's hook and are
/// adopted by the server, so their work is the server's), and the file to read.
final class AsyncOpsRuntime: @unchecked Sendable {
    let pool: WorkerPool
    let upstreamAddress: SocketAddress
    let upstream: UpstreamClient
    let filePath: String
    private var blockingClients: [ProbeClient] = []
    private var lock = pthread_mutex_t()

    init(_ context: SuiteContext, poolThreads: Int? = nil) throws {
        pthread_mutex_init(&lock, nil)
        upstreamAddress = try context.services.require(UpstreamService.self).address
        let hook = context.onThreadStart
        pool = try WorkerPool(
            name: "ops-pool", threads: poolThreads ?? max(2, context.settings.workers), onThreadStart: hook)
        context.adopt(pool)
        upstream = try UpstreamClient(address: upstreamAddress, onThreadStart: hook)
        context.adopt(upstream)
        filePath = try Self.writeFixture()
        context.onStop { [self] in stop() }
    }

    deinit { pthread_mutex_destroy(&lock) }

    private func stop() {
        pool.stop()
        upstream.stop()
        unlink(filePath)
    }

    /// The 64 KiB file, written in /tmp (or the working directory when there is none).
    private static func writeFixture() throws -> String {
        let content = AsyncWork.fileContent()
        for directory in ["/tmp", "."] {
            var template = Array("\(directory)/catbench-fixture-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { continue }
            let written = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == content.count else { continue }
            return String(cString: template)
        }
        throw UnsupportedProtocol(
            description: "cannot write the async-ops suite's file fixture in /tmp or the working directory")
    }

    /// Reads the fixture with blocking calls; its size and checksum.
    func readFile() -> (Int, String) {
        let fd = open(filePath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (0, "") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: AsyncWork.fileBytes + 1)
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + total, $0.count - total) }
            if n <= 0 { break }
            total += n
        }
        return (total, bytes.withUnsafeBufferPointer { AsyncWork.sha256(UnsafeBufferPointer(rebasing: $0[0..<total])) })
    }

    /// `n` from the upstream's answer `{"n":K}`, or nil.
    static func echoed(_ body: [UInt8]) -> Int64? { JSONValue.parse(body)?["n"]?.intValue }

    /// A blocking upstream call (the sync design's `requests.get`), on a
    /// pooled keep-alive connection; the echoed `n`.
    func blockingUpstream(_ target: String) -> Int64? {
        pthread_mutex_lock(&lock)
        let client = blockingClients.popLast() ?? ProbeClient(address: upstreamAddress)
        pthread_mutex_unlock(&lock)
        let request = RequestSpec(target: target, expectation: Expectation(status: 200))
        let value = (try? client.send(request)).flatMap { Self.echoed($0.body) }
        pthread_mutex_lock(&lock)
        blockingClients.append(client)
        pthread_mutex_unlock(&lock)
        return value
    }
}
