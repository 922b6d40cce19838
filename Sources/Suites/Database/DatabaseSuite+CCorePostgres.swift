import CCoreStack
import SuiteKit
import WireFormat

/// The database suite on ccore over PostgreSQL: the loop must not wait on
/// the network, so every handler hands its exchange off (the C core's
/// deferred answers) and the queries are awaited on the loop's executor
/// thread through postgres-nio, whose connections live on a group of the
/// server's own (adopted) threads — the async client bridged, as ccore's
/// upstream calls are. The loop parses, routes and writes; it never blocks
/// on PostgreSQL (a test holds a table lock and finds the loop answering).
extension DatabaseSuite {
    static func registerPostgres(_ app: CCoreApp, _ context: SuiteContext, _ url: PostgresURL) throws {
        let workers = context.settings.workers
        let pool = PostgresNIOPool(
            url: url, perLoop: max(1, Self.poolSize(workers) / workers), fallbackThreads: workers,
            applicationName: "catbench-ccore", onThreadStart: context.onThreadStart)
        context.adopt(pool)
        context.onStop { pool.stop() }

        @Sendable func leased(
            _ ex: CCoreExchange, _ work: @escaping @Sendable (PGLease) async throws -> CCoreLaterAnswer
        ) {
            ex.respondLater {
                do {
                    let lease = try await pool.acquire()
                    defer { pool.release(lease) }
                    return try await work(lease)
                } catch {
                    return .json(status: 500) { w in
                        w.beginObject(); w.key("error"); w.string("\(error)"); w.endObject()
                    }
                }
            }
        }

        try app.get("/db") { ex in
            leased(ex) { db in
                let id = DatabaseData.randomID(using: &db.random)
                let n = try await db.world(id)
                return .json { w in
                    w.beginObject(); w.key("id"); w.int(Int(id)); w.key("randomNumber"); w.int(Int(n)); w.endObject()
                }
            }
        }
        try app.get("/queries") { ex in
            let count = DatabaseData.queryCount(ex.query("queries"))
            leased(ex) { db in
                let rows = try await db.worlds(db.randomIDs(count))
                return .json { w in writeRows(&w, rows) }
            }
        }
        try app.get("/updates") { ex in
            let count = DatabaseData.queryCount(ex.query("queries"))
            leased(ex) { db in
                let read = try await db.worlds(db.randomIDs(count))
                let rows = zip(read, db.randomIDs(count)).map { WorldRow(id: $0.id, randomNumber: $1) }
                try await db.write(rows)
                return .json { w in writeRows(&w, rows) }
            }
        }
        try app.get("/fortunes") { ex in
            leased(ex) { db in
                CCoreLaterAnswer(
                    contentType: "text/html; charset=utf-8", body: DatabaseData.fortunesPage(try await db.fortuneRows())
                )
            }
        }
        try app.get("/users-with-posts") { ex in
            let page = DatabaseData.page(limit: ex.query("limit"), offset: ex.query("offset"))
            leased(ex) { db in
                let users = try await db.usersWithPosts(limit: page.limit, offset: page.offset)
                return .json { w in writeUsers(&w, users) }
            }
        }
        try app.post("/transfer") { ex in
            switch DatabaseData.transfer(from: ex.query("from"), to: ex.query("to"), amount: ex.query("amount")) {
            case .failure(let refused):
                ex.json(status: refused.status) { w in
                    w.beginObject(); w.key("error"); w.string(refused.message); w.endObject()
                }
            case .success(let t):
                leased(ex) { db in
                    switch try await db.transfer(t) {
                    case .success(let balance):
                        return .json { w in
                            w.beginObject(); w.key("from"); w.int(Int(t.from)); w.key("to"); w.int(Int(t.to))
                            w.key("amount"); w.int(Int(t.amount)); w.key("balance"); w.int(Int(balance)); w.endObject()
                        }
                    case .failure(let refused):
                        return .json(status: refused.status) { w in
                            w.beginObject(); w.key("error"); w.string(refused.message); w.endObject()
                        }
                    }
                }
            }
        }
    }

    /// The connections of an async pool for `workers` (the SQLite pool's rule: max(2, workers)).
    static func poolSize(_ workers: Int) -> Int { max(2, workers) }
}

func writeRows(_ w: inout JSONWriter, _ rows: [WorldRow]) {
    w.beginArray()
    for row in rows {
        w.beginObject(); w.key("id"); w.int(Int(row.id)); w.key("randomNumber"); w.int(Int(row.randomNumber))
        w.endObject()
    }
    w.endArray()
}

func writeUsers(_ w: inout JSONWriter, _ users: [UserWithPosts]) {
    w.beginObject(); w.key("users"); w.beginArray()
    for user in users {
        w.beginObject(); w.key("id"); w.int(Int(user.id)); w.key("username"); w.string(user.username)
        w.key("posts"); w.beginArray()
        for post in user.posts {
            w.beginObject(); w.key("id"); w.int(Int(post.id)); w.key("title"); w.string(post.title); w.endObject()
        }
        w.endArray(); w.endObject()
    }
    w.endArray(); w.endObject()
}
