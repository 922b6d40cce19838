import Posix
import SuiteKit
import Suites
import Testing
import ThreadedStack

/// The database suite's checks judge by the database itself — rows read and
/// changed behind the server's back, statements counted by the engine,
/// balances summed after the load — so servers that cache, that do not
/// write, that connect per request, that skip the rollback or that load
/// relations one query at a time fail them.
@Suite("database checks catch servers that cheat or break the data", .serialized)
struct DatabaseCheckTests {
    /// A threaded app with only the routes `wrong` gives, verified against the suite.
    static func verify(_ wrong: (ThreadedApp, DatabaseService) throws -> Void) throws -> VerificationReport {
        let database = try DatabaseService.start()
        defer { database.stop() }
        let app = ThreadedApp()
        try wrong(app, database)
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 2))
        defer { server.stop() }
        return Verifier.verify(
            suite: DatabaseSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port),
            services: ServiceDirectory([database]))
    }

    static func rows(_ rows: [WorldRow]) -> Response {
        .json(.array(rows.map { ["id": .int(Int($0.id)), "randomNumber": .int(Int($0.randomNumber))] }))
    }

    static func failures(_ report: VerificationReport, _ check: String) -> [Finding] {
        report.failures.filter { $0.check.contains(check) }
    }

    @Test("a server that answers from a copy of the table it read at start fails the anti-cache check")
    func caching() throws {
        let report = try Self.verify { app, database in
            let copy = try database.worlds()
            try app.route("/queries") { request in
                let n = DatabaseData.queryCount(request.args["queries"])
                let ids = (0..<n).map { _ in Int64.random(in: 1...Int64(DatabaseData.worldRows)) }
                return Self.rows(ids.map { WorldRow(id: $0, randomNumber: copy[$0] ?? 0) })
            }
        }
        let found = Self.failures(report, "behind the server's back")
        #expect(found.contains { $0.message.contains("after the change: row") }, "\(found)")
        #expect(Set(report.failedWorkloads(of: DatabaseSuite.contract).keys).isSuperset(of: ["queries-20", "db"]))
    }

    @Test("a server that answers new numbers without writing them fails the read-back of updates")
    func updatesNotWritten() throws {
        let report = try Self.verify { app, database in
            let session = try SQLiteSession(path: database.path)
            try app.route("/updates") { request in
                let n = DatabaseData.queryCount(request.args["queries"])
                let read = try! session.worlds(session.randomIDs(n))
                return Self.rows(read.map { WorldRow(id: $0.id, randomNumber: ($0.randomNumber % 10_000) + 1) })
            }
        }
        let found = Self.failures(report, "updates are written")
        #expect(found.contains { $0.message.contains("not written?") }, "\(found)")
        #expect(report.failedWorkloads(of: DatabaseSuite.contract)["updates-20"] != nil)
    }

    @Test("a server that opens a connection per request fails the pool check")
    func connectionPerRequest() throws {
        let report = try Self.verify { app, database in
            try app.route("/db") { _ in
                let session = try! SQLiteSession(path: database.path)
                let id = DatabaseData.randomID(using: &session.random)
                return .json(["id": .int(Int(id)), "randomNumber": .int(Int(try! session.world(id) ?? 0))])
            }
        }
        let found = Self.failures(report, "connections are pooled")
        #expect(found.contains { $0.message.contains("opened 30 database connections") }, "\(found)")
    }

    @Test("a transfer that keeps its credit when it refuses fails the rollback check and the balance invariant")
    func noRollback() throws {
        let database = try DatabaseService.start()
        defer { database.stop() }
        let app = ThreadedApp()
        let session = try SQLiteSession(path: database.path)
        try app.route("/transfer", methods: ["POST"]) { request in
            guard
                case .success(let t) = DatabaseData.transfer(
                    from: request.args["from"], to: request.args["to"], amount: request.args["amount"])
            else { return .json(["error": "bad"], status: 400) }
            // Credit first and keep it, whatever happens next: no transaction.
            try! database.execute("UPDATE accounts SET balance = balance + \(t.amount) WHERE id = \(t.to)")
            guard let has = try! database.balance(t.from) else { return .json(["error": "no account"], status: 404) }
            guard has >= t.amount else { return .json(["error": "insufficient funds"], status: 409) }
            try! database.setBalance(t.from, has - t.amount)
            _ = session
            return .json([
                "from": .int(Int(t.from)), "to": .int(Int(t.to)), "amount": .int(Int(t.amount)),
                "balance": .int(Int(has - t.amount)),
            ])
        }
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 2))
        defer { server.stop() }
        let services = ServiceDirectory([database])
        let report = Verifier.verify(
            suite: DatabaseSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port),
            services: services)
        let found = Self.failures(report, "rolls back")
        #expect(found.contains { $0.message.contains("its credit was not rolled back") }, "\(found)")
        // The load's view: after it, the money the refusals created shows in the sum.
        let invariant = try #require(DatabaseSuite.contract.invariants(after: "transfer").first)
        let problems = try invariant.check(services)
        #expect(problems.contains { $0.contains("transfers keep the sum at 1000000") }, "\(problems)")
        // A correct server's loads keep it (the seeded database holds).
        let fresh = try DatabaseService.start()
        defer { fresh.stop() }
        #expect(try invariant.check(ServiceDirectory([fresh])).isEmpty)
    }

    @Test("users loaded one query per user (N+1) fail the engine's statement count")
    func nPlusOne() throws {
        let report = try Self.verify { app, database in
            let session = try SQLiteSession(path: database.path)
            try app.route("/users-with-posts") { request in
                let page = DatabaseData.page(limit: request.args["limit"], offset: request.args["offset"])
                let users = (0..<page.limit).flatMap { k in
                    try! session.usersWithPosts(limit: 1, offset: page.offset + k)
                }
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
            }
        }
        let found = Self.failures(report, "counted by the database")
        #expect(found.contains { $0.message.contains("users-with-posts: 10.0 reads") }, "\(found)")
        // Its answers are right: only the count gives it away.
        #expect(Self.failures(report, "a page of users is the database's").isEmpty)
    }

    @Test("a fortunes page that does not escape the messages fails the page check")
    func unescapedFortunes() throws {
        let report = try Self.verify { app, database in
            let session = try SQLiteSession(path: database.path)
            try app.route("/fortunes") { _ in
                var rows = try! session.fortuneRows()
                rows.append((0, DatabaseData.addedFortune))
                rows.sort { Array($0.message.utf8).lexicographicallyPrecedes(Array($1.message.utf8)) }
                let cells = rows.map { "<tr><td>\($0.id)</td><td>\($0.message)</td></tr>" }.joined()
                return Response(
                    contentType: "text/html; charset=utf-8",
                    body: Array(
                        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                            .utf8) + Array("<tr><th>id</th><th>message</th></tr>\(cells)</table></body></html>".utf8))
            }
        }
        let found = report.failures.filter { $0.check == "fortunes page" }
        #expect(found.contains { $0.message.contains("got <script>") }, "\(found)")
    }

    @Test("the fortunes page compares as HTML: another escaping of the same text and whitespace between tags pass")
    func fortunesNormalised() {
        var page = String(decoding: DatabaseData.fortunesPage(DatabaseData.fortunes), as: UTF8.self)
        page = page.replacing("&#39;", with: "&#x27;").replacing("&quot;", with: "&#34;")
            .replacing("<tr>", with: "\n  <tr>").replacing("<!DOCTYPE html>", with: "<!doctype html>\n")
        let expected = DatabaseData.fortunesPage(DatabaseData.fortunes)
        #expect(FortunesCheck.problem(Array(page.utf8)) == nil)
        #expect(FortunesCheck.problem(expected) == nil)
        let missing = String(decoding: expected, as: UTF8.self).replacing(
            "<tr><td>0</td><td>Additional fortune added at request time.</td></tr>", with: "")
        #expect(FortunesCheck.problem(Array(missing.utf8)) != nil)
    }
}
