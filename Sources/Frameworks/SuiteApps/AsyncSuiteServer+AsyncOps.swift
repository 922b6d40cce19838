import AsyncStack
import NIOHTTP1
import Posix
import SharedLogic
import WireFormat

/// The async-operations suite on the async stack: handlers await; the sync
/// handler runs on the worker pool, as FastAPI runs a plain `def` endpoint.
extension AsyncSuiteServer {
    struct Waited: Encodable { let io: String; let waited_us: Int }
    struct Fanout: Encodable { let calls: Int; let results: [Int]; let waited_us: Int }
    struct Upstream: Encodable { struct N: Encodable { let n: Int64 }; let upstream: N }
    struct FileRead: Encodable { let bytes: Int; let sha256: String }
    struct CPU: Encodable { let seed: String; let result: String }
    struct Sync: Encodable { let sync: Bool }

    static func registerAsyncOps(_ app: AsyncApp, _ r: AsyncOpsResources) throws {
        try app.get("/async/io") { _ in
            let start = Clock.monotonicNanos()
            try await Task.sleep(nanoseconds: AsyncWork.ioNanos)
            return try .json(Waited(io: "done", waited_us: Int((Clock.monotonicNanos() - start) / 1000)))
        }
        try app.get("/async/fanout") { _ in
            let start = Clock.monotonicNanos()
            let results = try await withThrowingTaskGroup(of: Int.self) { group in
                for call in 0..<AsyncWork.fanout {
                    group.addTask {
                        try await Task.sleep(nanoseconds: AsyncWork.ioNanos)
                        return call
                    }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }.sorted()
            }
            return try .json(Fanout(calls: results.count, results: results, waited_us: Int((Clock.monotonicNanos() - start) / 1000)))
        }
        try app.get("/async/upstream") { request in
            let n = Int(request.queryValue("n") ?? "") ?? 0
            let body = try await r.upstream.get(n: n)
            return try .json(Upstream(upstream: .init(n: JSONValue.parse(body)?["n"]?.intValue ?? -1)))
        }
        try app.get("/async/file") { _ in
            let (bytes, checksum) = await r.pool.run { r.readFile() }
            return try .json(FileRead(bytes: bytes, sha256: checksum))
        }
        try app.get("/async/cpu") { request in
            let seed = UInt64(request.queryValue("seed") ?? "") ?? 1
            return try .json(CPU(seed: String(seed), result: await r.pool.run { AsyncWork.cpu(seed: seed) }))
        }
        try app.get("/async/sync", runningOn: r.pool) { _ in
            (try? .json(Sync(sync: true))) ?? AsyncResponse(status: .internalServerError)
        }
    }
}
