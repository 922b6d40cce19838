import CCoreStack
import SuiteKit

/// The basic suite on ccore: typed path parameters matched by the C router,
/// JSON written straight into the loop's buffer.
extension BasicSuite: CCoreSuite {
    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        // A static string: ccore writes it without a copy.
        try app.get("/plaintext") { ex in ex.text("Hello, World!") }
        try app.get("/json") { ex in
            ex.json { w in
                w.beginObject(); w.key("message"); w.string(jsonMessage); w.endObject()
            }
        }
        try app.get("/users/{id:int}") { ex in
            guard let id = ex.intParameter("id") else { throw CCoreError(400, "id must be an integer") }
            ex.json { w in
                w.beginObject()
                w.key("id"); w.int(id)
                w.key("name"); w.string(userName(id: Int64(id)))
                w.endObject()
            }
        }
        try app.get("/search") { ex in
            let query = ex.query("q") ?? ""
            let limit = BasicSuite.limit(from: ex.query("limit"))
            ex.json { w in
                w.beginObject()
                w.key("query"); w.string(query)
                w.key("limit"); w.int(limit)
                w.key("results"); w.beginArray()
                for i in 1...limit {
                    w.beginObject()
                    w.key("id"); w.int(i)
                    w.key("title"); w.string(resultTitle(query: query, index: i))
                    w.endObject()
                }
                w.endArray()
                w.endObject()
            }
        }
    }
}
