import AsyncStack
import NIOCore
import NIOHTTP1
import SuiteKit

/// The database suite on the async stack over PostgreSQL: postgres-nio
/// connections pooled per event loop, the leased connection a request-scoped
/// dependency (FastAPI's session per request through `Depends`, given back
/// by its cleanup), every query awaited on the loop the request runs on.
extension DatabaseSuite {
    static func registerPostgres(_ app: AsyncApp, _ context: SuiteContext, _ url: PostgresURL) throws {
        let workers = context.settings.workers
        // One loop of the pool's own serves nothing here (every request is on a server loop) but is NIO's fallback.
        let pool = PostgresNIOPool(
            url: url, perLoop: max(1, poolSize(workers) / workers), fallbackThreads: 1,
            applicationName: "catbench-async", onThreadStart: context.onThreadStart)
        context.adopt(pool)
        context.onStop { pool.stop() }
        let session = Dependency<PGLease>("DatabaseSession", cleanup: { pool.release($0) }) { _ in
            try await pool.acquire()
        }
        try app.declare([session])
        @Sendable func failed(_ error: any Error) -> AsyncResponse { .error(.internalServerError, "\(error)") }

        try app.get("/db") { request in
            do {
                let db = try await request.resolve(session)
                let id = DatabaseData.randomID(using: &db.random)
                return try .json(WorldRow(id: id, randomNumber: try await db.world(id)))
            } catch { return failed(error) }
        }
        try app.get("/queries") { request in
            do {
                let db = try await request.resolve(session)
                return try .json(
                    try await db.worlds(db.randomIDs(DatabaseData.queryCount(request.queryValue("queries")))))
            } catch { return failed(error) }
        }
        try app.get("/updates") { request in
            do {
                let db = try await request.resolve(session)
                let count = DatabaseData.queryCount(request.queryValue("queries"))
                let read = try await db.worlds(db.randomIDs(count))
                let rows = zip(read, db.randomIDs(count)).map { WorldRow(id: $0.id, randomNumber: $1) }
                try await db.write(rows)
                return try .json(rows)
            } catch { return failed(error) }
        }
        try app.get("/fortunes") { request in
            do {
                let db = try await request.resolve(session)
                let page = DatabaseData.fortunesPage(try await db.fortuneRows())
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
                return AsyncResponse(headers: headers, body: ByteBuffer(bytes: page))
            } catch { return failed(error) }
        }
        try app.get("/users-with-posts") { request in
            do {
                let db = try await request.resolve(session)
                let page = DatabaseData.page(limit: request.queryValue("limit"), offset: request.queryValue("offset"))
                return try .json(Users(users: try await db.usersWithPosts(limit: page.limit, offset: page.offset)))
            } catch { return failed(error) }
        }
        try app.post("/transfer") { request in
            switch DatabaseData.transfer(
                from: request.queryValue("from"), to: request.queryValue("to"), amount: request.queryValue("amount"))
            {
            case .failure(let refused):
                return .error(HTTPResponseStatus(statusCode: refused.status), refused.message)
            case .success(let t):
                do {
                    let db = try await request.resolve(session)
                    switch try await db.transfer(t) {
                    case .success(let balance):
                        return try .json(Moved(from: t.from, to: t.to, amount: t.amount, balance: balance))
                    case .failure(let refused):
                        return .error(HTTPResponseStatus(statusCode: refused.status), refused.message)
                    }
                } catch { return failed(error) }
            }
        }
    }
}
