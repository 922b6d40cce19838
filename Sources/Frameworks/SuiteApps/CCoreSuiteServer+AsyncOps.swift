import CCoreStack
import Posix
import SharedLogic
import WireFormat

/// The async-operations suite on ccore: sync handlers hand the exchange off
/// (the C core's deferred answers) and the awaited work runs on the loop's
/// executor thread, so the loop itself never waits.
extension CCoreSuiteServer {
    static func registerAsyncOps(_ app: CCoreApp, _ r: AsyncOpsResources) throws {
        try app.get("/async/io") { ex in
            ex.respondLater {
                let start = Clock.monotonicNanos()
                try? await Task.sleep(nanoseconds: AsyncWork.ioNanos)
                let waited = Int((Clock.monotonicNanos() - start) / 1000)
                return .json { w in w.beginObject(); w.key("io"); w.string("done"); w.key("waited_us"); w.int(waited); w.endObject() }
            }
        }
        try app.get("/async/fanout") { ex in
            ex.respondLater {
                let start = Clock.monotonicNanos()
                let results = await withTaskGroup(of: Int.self) { group in
                    for call in 0..<AsyncWork.fanout {
                        group.addTask {
                            try? await Task.sleep(nanoseconds: AsyncWork.ioNanos)
                            return call
                        }
                    }
                    return await group.reduce(into: [Int]()) { $0.append($1) }.sorted()
                }
                let waited = Int((Clock.monotonicNanos() - start) / 1000)
                return .json { w in
                    w.beginObject()
                    w.key("calls"); w.int(results.count)
                    w.key("results"); w.beginArray(); for n in results { w.int(n) }; w.endArray()
                    w.key("waited_us"); w.int(waited)
                    w.endObject()
                }
            }
        }
        try app.get("/async/upstream") { ex in
            let n = Int(ex.query("n") ?? "") ?? 0
            ex.respondLater {
                let body = (try? await r.upstream.get(n: n)) ?? []
                let echoed = JSONValue.parse(body)?["n"]?.intValue ?? -1
                return .json { w in
                    w.beginObject(); w.key("upstream"); w.beginObject(); w.key("n"); w.int(Int(echoed)); w.endObject(); w.endObject()
                }
            }
        }
        try app.get("/async/file") { ex in
            ex.respondLater {
                let (bytes, checksum) = await r.pool.run { r.readFile() }
                return .json { w in w.beginObject(); w.key("bytes"); w.int(bytes); w.key("sha256"); w.string(checksum); w.endObject() }
            }
        }
        try app.get("/async/cpu") { ex in
            let seed = UInt64(ex.query("seed") ?? "") ?? 1
            ex.respondLater {
                let result = await r.pool.run { AsyncWork.cpu(seed: seed) }
                return .json { w in w.beginObject(); w.key("seed"); w.string(String(seed)); w.key("result"); w.string(result); w.endObject() }
            }
        }
        try app.get("/async/sync") { ex in
            ex.json { w in w.beginObject(); w.key("sync"); w.bool(true); w.endObject() }
        }
    }
}
