import Contract
import Posix
import SharedLogic
#if canImport(Glibc)
import Glibc
#endif

/// What the async-operations suite's handlers use, made when a server starts
/// and closed when it stops: a worker pool and the upstream clients (their
/// threads start with the server's hook, so their work is the server's), the
/// file to read, and — when the harness gives none — an upstream of its own.
final class AsyncOpsResources: @unchecked Sendable {
    let pool: WorkerPool
    let upstreamAddress: SocketAddress
    let upstream: UpstreamClient
    let filePath: String
    private let ownUpstream: UpstreamServer?
    private var blockingClients: [ProbeClient] = []
    private var lock = pthread_mutex_t()

    init(settings: ServerSettings) throws {
        pthread_mutex_init(&lock, nil)
        if let given = settings.upstream {
            upstreamAddress = given
            ownUpstream = nil
        } else {
            let server = try UpstreamServer()
            ownUpstream = server
            upstreamAddress = server.address
        }
        pool = try WorkerPool(name: "ops-pool", threads: max(2, settings.workers), onThreadStart: settings.onThreadStart)
        upstream = try UpstreamClient(address: upstreamAddress, onThreadStart: settings.onThreadStart)
        filePath = try Self.writeFixture()
    }

    deinit { pthread_mutex_destroy(&lock) }

    func stop() {
        pool.stop()
        upstream.stop()
        ownUpstream?.stop()
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
        throw UnsupportedProtocol(description: "cannot write the async suite's file fixture in /tmp or the working directory")
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

    /// A blocking upstream call (the sync design's `requests.get`), on a pooled keep-alive connection.
    func blockingUpstream(n: Int) -> Int64? {
        pthread_mutex_lock(&lock)
        let client = blockingClients.popLast() ?? ProbeClient(address: upstreamAddress)
        pthread_mutex_unlock(&lock)
        let request = RequestSpec(target: "/delay?n=\(n)", expectation: Expectation(status: 200))
        let value = (try? client.send(request)).flatMap { JSONValue.parse($0.body)?["n"]?.intValue }
        pthread_mutex_lock(&lock)
        blockingClients.append(client)
        pthread_mutex_unlock(&lock)
        return value
    }
}
