import CCoreStack
import SuiteKit
import WireFormat

/// The database suite on ccore: SQLite through its C API on the loop
/// itself, a connection per loop with its statements compiled once and
/// kept (the loop thread owns it; no lock, no hand-off). The calls block
/// the loop for the engine's time — pages in memory, microseconds; a writer
/// waits for the one writer.
extension DatabaseSuite: CCoreSuite {
    public static func register(_ app: CCoreApp, _ context: SuiteContext) throws {
        let database = try context.services.require(DatabaseService.self)
        if let url = database.postgres { return try registerPostgres(app, context, url) }
        let path = database.path
        let sessions = PerThreadSessions { try SQLiteSession(path: path) }
        context.onStop { sessions.closeAll() }

        @Sendable func failed(_ ex: CCoreExchange, _ error: any Error) {
            ex.json(status: 500) { w in
                w.beginObject(); w.key("error"); w.string("\(error)"); w.endObject()
            }
        }
        @Sendable func rows(_ ex: CCoreExchange, _ rows: [WorldRow]) {
            ex.json { w in
                w.beginArray()
                for row in rows {
                    w.beginObject(); w.key("id"); w.int(Int(row.id)); w.key("randomNumber");
                    w.int(Int(row.randomNumber))
                    w.endObject()
                }
                w.endArray()
            }
        }

        try app.get("/db") { ex in
            do {
                let session = try sessions.current()
                let id = DatabaseData.randomID(using: &session.random)
                let n = try session.world(id) ?? 0
                ex.json { w in
                    w.beginObject(); w.key("id"); w.int(Int(id)); w.key("randomNumber"); w.int(Int(n)); w.endObject()
                }
            } catch { failed(ex, error) }
        }
        try app.get("/queries") { ex in
            do {
                let session = try sessions.current()
                rows(ex, try session.worlds(session.randomIDs(DatabaseData.queryCount(ex.query("queries")))))
            } catch { failed(ex, error) }
        }
        try app.get("/updates") { ex in
            do {
                let session = try sessions.current()
                let count = DatabaseData.queryCount(ex.query("queries"))
                rows(ex, try session.updateWorlds(session.randomIDs(count), newNumbers: session.randomIDs(count)))
            } catch { failed(ex, error) }
        }
        try app.get("/fortunes") { ex in
            do {
                let page = DatabaseData.fortunesPage(try sessions.current().fortuneRows())
                page.withUnsafeBytes { ex.respond(status: 200, contentType: "text/html; charset=utf-8", body: $0) }
            } catch { failed(ex, error) }
        }
        try app.get("/users-with-posts") { ex in
            do {
                let page = DatabaseData.page(limit: ex.query("limit"), offset: ex.query("offset"))
                let users = try sessions.current().usersWithPosts(limit: page.limit, offset: page.offset)
                ex.json { w in
                    w.beginObject(); w.key("users"); w.beginArray()
                    for user in users {
                        w.beginObject(); w.key("id"); w.int(Int(user.id)); w.key("username"); w.string(user.username)
                        w.key("posts"); w.beginArray()
                        for post in user.posts {
                            w.beginObject(); w.key("id"); w.int(Int(post.id)); w.key("title"); w.string(post.title)
                            w.endObject()
                        }
                        w.endArray(); w.endObject()
                    }
                    w.endArray(); w.endObject()
                }
            } catch { failed(ex, error) }
        }
        try app.post("/transfer") { ex in
            switch DatabaseData.transfer(from: ex.query("from"), to: ex.query("to"), amount: ex.query("amount")) {
            case .failure(let refused):
                ex.json(status: refused.status) { w in
                    w.beginObject(); w.key("error"); w.string(refused.message); w.endObject()
                }
            case .success(let t):
                do {
                    switch try sessions.current().transfer(t) {
                    case .success(let balance):
                        ex.json { w in
                            w.beginObject(); w.key("from"); w.int(Int(t.from)); w.key("to"); w.int(Int(t.to))
                            w.key("amount"); w.int(Int(t.amount)); w.key("balance"); w.int(Int(balance)); w.endObject()
                        }
                    case .failure(let refused):
                        ex.json(status: refused.status) { w in
                            w.beginObject(); w.key("error"); w.string(refused.message); w.endObject()
                        }
                    }
                } catch { failed(ex, error) }
            }
        }
    }
}
