import SuiteKit
import ThreadedStack

/// The database suite on the threaded stack: one connection per worker
/// thread (opened on its first request, its statements kept), and blocking
/// calls, as a sync WSGI app with a thread-local connection does — SQLite's
/// C API, or PostgreSQL through catbench's blocking client (`PGConnection`).
extension DatabaseSuite: ThreadedSuite {
    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        let database = try context.services.require(DatabaseService.self)
        let sessions: PerThreadSessions
        if let url = database.postgres {
            sessions = PerThreadSessions { try PGSession(url, applicationName: "catbench-threaded") }
        } else {
            let path = database.path
            sessions = PerThreadSessions { try SQLiteSession(path: path) }
        }
        context.onStop { sessions.closeAll() }

        @Sendable func rows(_ rows: [WorldRow]) -> Response {
            .json(.array(rows.map { ["id": .int(Int($0.id)), "randomNumber": .int(Int($0.randomNumber))] }))
        }
        @Sendable func failed(_ error: any Error) -> Response { .json(["error": .string("\(error)")], status: 500) }
        @Sendable func refused(_ error: DatabaseData.TransferError) -> Response {
            .json(["error": .string(error.message)], status: error.status)
        }

        try app.route("/db") { _ in
            do {
                let session = try sessions.current()
                let id = DatabaseData.randomID(using: &session.random)
                return .json(["id": .int(Int(id)), "randomNumber": .int(Int(try session.world(id) ?? 0))])
            } catch { return failed(error) }
        }
        try app.route("/queries") { request in
            do {
                let session = try sessions.current()
                return rows(try session.worlds(session.randomIDs(DatabaseData.queryCount(request.args["queries"]))))
            } catch { return failed(error) }
        }
        try app.route("/updates") { request in
            do {
                let session = try sessions.current()
                let count = DatabaseData.queryCount(request.args["queries"])
                return rows(try session.updateWorlds(session.randomIDs(count), newNumbers: session.randomIDs(count)))
            } catch { return failed(error) }
        }
        try app.route("/fortunes") { _ in
            do {
                return Response(
                    contentType: "text/html; charset=utf-8",
                    body: DatabaseData.fortunesPage(try sessions.current().fortuneRows()))
            } catch { return failed(error) }
        }
        try app.route("/users-with-posts") { request in
            do {
                let page = DatabaseData.page(limit: request.args["limit"], offset: request.args["offset"])
                let users = try sessions.current().usersWithPosts(limit: page.limit, offset: page.offset)
                return .json([
                    "users": .array(
                        users.map { user in
                            [
                                "id": .int(Int(user.id)), "username": .string(user.username),
                                "posts": .array(
                                    user.posts.map { ["id": .int(Int($0.id)), "title": .string($0.title)] }),
                            ]
                        })
                ])
            } catch { return failed(error) }
        }
        try app.route("/transfer", methods: ["POST"]) { request in
            let args = request.args
            switch DatabaseData.transfer(from: args["from"], to: args["to"], amount: args["amount"]) {
            case .failure(let error): return refused(error)
            case .success(let t):
                do {
                    switch try sessions.current().transfer(t) {
                    case .success(let balance):
                        return .json([
                            "from": .int(Int(t.from)), "to": .int(Int(t.to)), "amount": .int(Int(t.amount)),
                            "balance": .int(Int(balance)),
                        ])
                    case .failure(let error): return refused(error)
                    }
                } catch { return failed(error) }
            }
        }
    }
}
