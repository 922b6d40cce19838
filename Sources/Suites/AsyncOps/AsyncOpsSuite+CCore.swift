import CCoreStack
import Posix
import SuiteKit
import WireFormat

/// The async-operations suite on ccore: sync handlers hand the exchange off
/// (the C core's deferred answers) and the awaited work runs on the loop's
/// executor thread — its waits on that executor's own timer, its upstream
/// calls on the NIO client — so the loop itself never waits.
extension AsyncOpsSuite: CCoreSuite {
    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        let r = try AsyncOpsRuntime(context)
        try app.get("/async/io") { ex in
            let executor = ex.executor
            ex.respondLater {
                await executor.sleep(nanoseconds: AsyncWork.ioNanos)
                return .json { w in
                    w.beginObject(); w.key("io"); w.string("done"); w.endObject()
                }
            }
        }
        try app.get("/async/fanout") { ex in
            let group = ex.query("group") ?? ""
            ex.respondLater {
                let results = await withTaskGroup(of: (Int, Int64).self) { calls in
                    for call in 0..<AsyncWork.fanout {
                        calls.addTask {
                            let body =
                                (try? await r.upstream.get(AsyncWork.fanoutTarget(call: call, group: group))) ?? []
                            return (call, AsyncOpsRuntime.echoed(body) ?? -1)
                        }
                    }
                    return await calls.reduce(into: [(Int, Int64)]()) { $0.append($1) }.sorted { $0.0 < $1.0 }.map(\.1)
                }
                return .json { w in
                    w.beginObject()
                    w.key("calls"); w.int(results.count)
                    w.key("results"); w.beginArray(); for n in results { w.int(Int(n)) }; w.endArray()
                    w.endObject()
                }
            }
        }
        try app.get("/async/upstream") { ex in
            let n = Int(ex.query("n") ?? "") ?? 0
            ex.respondLater {
                let body = (try? await r.upstream.get(AsyncWork.upstreamTarget(n: n))) ?? []
                let echoed = AsyncOpsRuntime.echoed(body) ?? -1
                return .json { w in
                    w.beginObject(); w.key("upstream"); w.beginObject(); w.key("n"); w.int(Int(echoed)); w.endObject();
                    w.endObject()
                }
            }
        }
        try app.get("/async/file") { ex in
            ex.respondLater {
                let (bytes, checksum) = await r.pool.run { r.readFile() }
                return .json { w in
                    w.beginObject(); w.key("bytes"); w.int(bytes); w.key("sha256"); w.string(checksum); w.endObject()
                }
            }
        }
        try app.get("/async/cpu") { ex in
            let seed = UInt64(ex.query("seed") ?? "") ?? 1
            ex.respondLater {
                let result = await r.pool.run { AsyncWork.cpu(seed: seed) }
                return .json { w in
                    w.beginObject(); w.key("seed"); w.string(String(seed)); w.key("result"); w.string(result);
                    w.endObject()
                }
            }
        }
        try app.get("/async/sync") { ex in
            ex.json { w in
                w.beginObject(); w.key("sync"); w.bool(true); w.endObject()
            }
        }
    }
}
