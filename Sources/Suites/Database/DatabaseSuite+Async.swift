import AsyncStack
import NIOCore
import NIOHTTP1
import Posix
import SuiteKit
import WireFormat

/// The database suite on the async stack: the connection is a
/// request-scoped dependency (FastAPI's session per request through
/// `Depends`), leased from a fixed pool and given back when the request
/// ends; every read is its own awaited call on the server's thread pool,
/// and a write transaction one awaited unit of work, as an async driver's
/// `write { }` block (see `AsyncSQLitePool` for why the driver is written here).
extension DatabaseSuite: AsyncStackSuite {
    struct Users: Encodable { let users: [UserWithPosts] }
    struct Moved: Encodable { let from: Int64; let to: Int64; let amount: Int64; let balance: Int64 }

    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        let database = try context.services.require(DatabaseService.self)
        if let url = database.postgres { return try registerPostgres(app, context, url) }
        let pool = try AsyncSQLitePool(
            path: database.path, size: max(2, context.settings.workers), onThreadStart: context.onThreadStart)
        context.adopt(pool)
        context.onStop { pool.stop() }
        let session = Dependency<SQLiteSession>("DatabaseSession", cleanup: { pool.release($0) }) { _ in
            await pool.acquire()
        }
        try app.declare([session])

        @Sendable func read(_ db: SQLiteSession, _ id: Int64) async throws -> WorldRow {
            WorldRow(id: id, randomNumber: try await pool.run { try db.world(id) ?? 0 })
        }
        @Sendable func failed(_ error: any Error) -> AsyncResponse { .error(.internalServerError, "\(error)") }

        try app.get("/db") { request in
            do {
                let db = try await request.resolve(session)
                return try .json(try await read(db, DatabaseData.randomID(using: &db.random)))
            } catch { return failed(error) }
        }
        try app.get("/queries") { request in
            do {
                let db = try await request.resolve(session)
                var rows: [WorldRow] = []
                for id in db.randomIDs(DatabaseData.queryCount(request.queryValue("queries"))) {
                    rows.append(try await read(db, id))
                }
                return try .json(rows)
            } catch { return failed(error) }
        }
        try app.get("/updates") { request in
            do {
                let db = try await request.resolve(session)
                let count = DatabaseData.queryCount(request.queryValue("queries"))
                var rows: [WorldRow] = []
                for (id, number) in zip(db.randomIDs(count), db.randomIDs(count)) {
                    rows.append(WorldRow(id: try await read(db, id).id, randomNumber: number))
                }
                let written = rows
                try await pool.run { try db.write(written) }
                return try .json(rows)
            } catch { return failed(error) }
        }
        try app.get("/fortunes") { request in
            do {
                let db = try await request.resolve(session)
                let page = DatabaseData.fortunesPage(try await pool.run { try db.fortuneRows() })
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "text/html; charset=utf-8")
                return AsyncResponse(headers: headers, body: ByteBuffer(bytes: page))
            } catch { return failed(error) }
        }
        try app.get("/users-with-posts") { request in
            do {
                let db = try await request.resolve(session)
                let page = DatabaseData.page(limit: request.queryValue("limit"), offset: request.queryValue("offset"))
                let users = try await pool.run { try db.usersWithPosts(limit: page.limit, offset: page.offset) }
                return try .json(Users(users: users))
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
                    switch try await pool.run({ try db.transfer(t) }) {
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
