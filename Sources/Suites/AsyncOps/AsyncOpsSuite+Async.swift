import AsyncStack
import Posix
import SuiteKit
import WireFormat

/// The async-operations suite on the async stack: handlers await (the waits
/// on the request's own event loop, the fan-out as a task group of NIO client
/// calls); blocking work and the sync handler run on the worker pool, as
/// FastAPI runs a plain `def` endpoint.
extension AsyncOpsSuite: AsyncStackSuite {
    struct Done: Encodable { let io: String }
    struct Fanout: Encodable { let calls: Int; let results: [Int64] }
    struct Upstream: Encodable { struct N: Encodable { let n: Int64 }; let upstream: N }
    struct FileRead: Encodable { let bytes: Int; let sha256: String }
    struct CPU: Encodable { let seed: String; let result: String }
    struct Sync: Encodable { let sync: Bool }

    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        let r = try AsyncOpsRuntime(context)
        try app.get("/async/io") { request in
            await request.sleep(nanoseconds: AsyncWork.ioNanos)
            return try .json(Done(io: "done"))
        }
        try app.get("/async/fanout") { request in
            let group = request.queryValue("group") ?? ""
            let results = try await withThrowingTaskGroup(of: (Int, Int64).self) { calls in
                for call in 0..<AsyncWork.fanout {
                    calls.addTask {
                        (
                            call,
                            AsyncOpsRuntime.echoed(
                                try await r.upstream.get(AsyncWork.fanoutTarget(call: call, group: group))) ?? -1
                        )
                    }
                }
                return try await calls.reduce(into: [(Int, Int64)]()) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
            }
            return try .json(Fanout(calls: results.count, results: results))
        }
        try app.get("/async/upstream") { request in
            let n = Int(request.queryValue("n") ?? "") ?? 0
            let echoed = AsyncOpsRuntime.echoed(try await r.upstream.get(AsyncWork.upstreamTarget(n: n))) ?? -1
            return try .json(Upstream(upstream: .init(n: echoed)))
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
