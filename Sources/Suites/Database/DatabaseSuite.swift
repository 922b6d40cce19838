import Posix
import SuiteKit

/// The database suite: TechEmpower's single query, multiple queries,
/// updates and fortunes, a page of users with their posts (one join, not a
/// query per user) and a money transfer in one transaction that a quarter
/// of the requests roll back. Every server uses the same seeded database;
/// the checks read and write it behind the server's back and count the
/// statements from the engine's side.
public enum DatabaseSuite: SuiteDefinition {
    public static var services: [any SuiteService.Type] { [DatabaseService.self] }

    /// Connection levels of the workloads that are about pools.
    static let poolLevels = [16, 64, 256]
    static let queryCounts = [1, 5, 10, 20]
    static let updateCounts = [1, 20]

    static func json(
        _ target: String, method: String = "GET", status: Int = 200, _ check: @escaping @Sendable (JSONValue) -> String?
    )
        -> RequestSpec
    {
        RequestSpec(
            method: method, target: target,
            expectation: Expectation(status: status, mediaType: "application/json", body: .json(check)))
    }

    /// A world row as answered: exactly `id` and `randomNumber`, both 1…10,000.
    static func worldProblem(_ doc: JSONValue) -> String? {
        guard let object = doc.objectValue, object.count == 2, let id = doc["id"]?.intValue,
            let n = doc["randomNumber"]?.intValue
        else { return "expected {\"id\":…,\"randomNumber\":…}, got \(doc)" }
        guard (1...Int64(DatabaseData.worldRows)).contains(id), (1...Int64(DatabaseData.worldRows)).contains(n) else {
            return "id and randomNumber must be 1…10000, got \(doc)"
        }
        return nil
    }

    static func db() -> RequestSpec { json("/db") { worldProblem($0) } }

    static func rows(_ doc: JSONValue, count: Int) -> String? {
        guard let rows = doc.arrayValue else { return "expected an array of \(count) rows, got \(doc)" }
        guard rows.count == count else { return "expected \(count) rows, got \(rows.count)" }
        return rows.lazy.compactMap { worldProblem($0) }.first
    }

    static func queries(_ parameter: String?, rows count: Int, path: String = "/queries") -> RequestSpec {
        let target = parameter.map { "\(path)?queries=\($0)" } ?? path
        return json(target) { rows($0, count: count) }
    }

    static func fortunes() -> RequestSpec {
        var spec = RequestSpec(
            target: "/fortunes",
            expectation: Expectation(
                status: 200, mediaType: "text/html",
                body: .bytes("TechEmpower's fortunes page, compared after normalising the HTML") { body in
                    FortunesPage.problem(body, rows: DatabaseData.fortunes)
                }))
        spec.expectation.requiredHeaders = [("Content-Type", "text/html; charset=utf-8")]
        return spec
    }

    static func usersWithPosts(offset: Int64, limit: Int64 = 10) -> RequestSpec {
        json("/users-with-posts?limit=\(limit)&offset=\(offset)") { doc in
            guard let users = doc["users"]?.arrayValue else { return "expected {\"users\":[…]}, got \(doc)" }
            let expected = Int(min(limit, max(0, Int64(DatabaseData.users) - offset)))
            guard users.count == expected else { return "expected \(expected) users, got \(users.count)" }
            for (k, user) in users.enumerated() {
                guard user["id"]?.intValue == offset + Int64(k) + 1, user["username"]?.stringValue != nil,
                    let posts = user["posts"]?.arrayValue, posts.count == DatabaseData.postsPerUser,
                    posts.allSatisfy({ $0["id"]?.intValue != nil && $0["title"]?.stringValue != nil })
                else {
                    return "user \(k) of the page should be id \(offset + Int64(k) + 1) with a username and "
                        + "\(DatabaseData.postsPerUser) posts (id, title), got \(user)"
                }
            }
            return nil
        }
    }

    static func transfer(from: Int64, to: Int64, amount: Int64, status: Int = 200) -> RequestSpec {
        json("/transfer?from=\(from)&to=\(to)&amount=\(amount)", method: "POST", status: status) { doc in
            // The status says which answer it is; the document must be that answer.
            if doc["error"]?.stringValue != nil && status != 200 { return nil }
            guard doc["from"]?.intValue == from, doc["to"]?.intValue == to, doc["amount"]?.intValue == amount,
                let balance = doc["balance"]?.intValue, balance >= 0
            else {
                return "expected {\"from\":\(from),\"to\":\(to),\"amount\":\(amount),\"balance\":<from's new>}"
                    + (status == 200 ? "" : " or {\"error\":…}") + ", got \(doc)"
            }
            return nil
        }
    }

    static var queryWorkloads: [String] { queryCounts.map { "queries-\($0)" } }
    static var updateWorkloads: [String] { updateCounts.map { "updates-\($0)" } }

    public static let contract = SuiteContract(
        name: "database",
        aliases: ["db"],
        summary: "TechEmpower's db, queries, updates and fortunes, users with their posts (a join), and a transfer "
            + "in one transaction — on one seeded SQLite database, counted from the engine's side",
        routes: [
            RouteDescription(method: "GET", path: "/db", answer: "one random world row: {\"id\":…,\"randomNumber\":…}"),
            RouteDescription(
                method: "GET", path: "/queries?queries=N",
                answer: "N random world rows, each read by its own query: [{\"id\",\"randomNumber\"},…]; N clamped "
                    + "to 1…500, missing, 0, foo or empty give 1"),
            RouteDescription(
                method: "GET", path: "/updates?queries=N",
                answer: "N random rows read, given new random numbers and written back; answers the new rows"),
            RouteDescription(
                method: "GET", path: "/fortunes",
                answer: "text/html; charset=utf-8: the fortune table plus \"\(DatabaseData.addedFortune)\" (id 0), "
                    + "sorted by message, HTML-escaped, as TechEmpower's page"),
            RouteDescription(
                method: "GET", path: "/users-with-posts?limit=L&offset=O",
                answer: "{\"users\":[{\"id\",\"username\",\"posts\":[{\"id\",\"title\"},…]},…]}: L users (1…50, "
                    + "default 10) from offset O by id, with their posts by id, read by one join (or the ORM's "
                    + "relation loading), not a query per user"),
            RouteDescription(
                method: "POST", path: "/transfer?from=A&to=B&amount=X",
                answer: "in one transaction: credit B, then read A's balance; too little: roll back, 409 "
                    + "{\"error\":…}; else debit A, commit, 200 {\"from\",\"to\",\"amount\",\"balance\":A's new}; "
                    + "an unknown account 404, bad parameters 400"),
        ],
        cases: [
            LoadCase(name: "db", summary: "GET /db: one row by primary key", connectionLevels: poolLevels) { _ in db() }
        ]
            + queryCounts.map { n in
                LoadCase(
                    name: "queries-\(n)", summary: "GET /queries?queries=\(n): \(n) rows, a query each",
                    connectionLevels: poolLevels
                ) { _ in queries(String(n), rows: n) }
            }
            + updateCounts.map { n in
                LoadCase(name: "updates-\(n)", summary: "GET /updates?queries=\(n): \(n) rows read and written back") {
                    _ in queries(String(n), rows: n, path: "/updates")
                }
            }
            + [
                LoadCase(name: "fortunes", summary: "GET /fortunes: 12 rows + 1, sorted, escaped, as HTML") { _ in
                    fortunes()
                },
                LoadCase(
                    name: "users-with-posts", summary: "GET /users-with-posts: 10 users and their 100 posts, one join"
                ) { random in
                    usersWithPosts(offset: Int64.random(in: 0...990, using: &random))
                },
                LoadCase(
                    name: "transfer",
                    summary: "POST /transfer: credit, check, debit in one transaction; about a quarter roll back"
                ) { random in
                    let from = Int64.random(in: 1...Int64(DatabaseData.accounts), using: &random)
                    var to = Int64.random(in: 1...Int64(DatabaseData.accounts - 1), using: &random)
                    if to >= from { to += 1 }
                    var spec = transfer(
                        from: from, to: to, amount: Int64.random(in: 1...DatabaseData.largestTransfer, using: &random),
                        status: 409)
                    // Refusals are part of the workload: both answers are right.
                    spec.expectation.statuses = [200, 409]
                    return spec
                },
            ],
        checks: [
            NamedRequest("one row", db(), case: "db"),
            NamedRequest("queries=5", queries("5", rows: 5), workloads: queryWorkloads),
            NamedRequest("queries=0 gives 1", queries("0", rows: 1), workloads: queryWorkloads),
            NamedRequest("queries=foo gives 1", queries("foo", rows: 1), workloads: queryWorkloads),
            NamedRequest("queries= (empty) gives 1", queries("", rows: 1), workloads: queryWorkloads),
            NamedRequest("no queries parameter gives 1", queries(nil, rows: 1), workloads: queryWorkloads),
            NamedRequest("queries=501 gives 500", queries("501", rows: 500), workloads: queryWorkloads),
            NamedRequest("updates=0 gives 1", queries("0", rows: 1, path: "/updates"), workloads: updateWorkloads),
            NamedRequest("updates=foo gives 1", queries("foo", rows: 1, path: "/updates"), workloads: updateWorkloads),
            NamedRequest(
                "updates=501 gives 500", queries("501", rows: 500, path: "/updates"), workloads: updateWorkloads),
            NamedRequest("fortunes page", fortunes(), case: "fortunes"),
            NamedRequest("a page of users", usersWithPosts(offset: 0), case: "users-with-posts"),
            NamedRequest("the last, short page", usersWithPosts(offset: 995), case: "users-with-posts"),
            NamedRequest(
                "transfer to the same account is 400", transfer(from: 3, to: 3, amount: 1, status: 400),
                case: "transfer"),
            NamedRequest(
                "transfer of nothing is 400", transfer(from: 3, to: 4, amount: 0, status: 400), case: "transfer"),
            NamedRequest(
                "transfer from an unknown account is 404",
                transfer(from: 1_000_001, to: 4, amount: 1, status: 404), case: "transfer"),
        ],
        scenarios: DatabaseChecks.scenarios,
        notes: [
            "on SQLite (the default; --db postgres for PostgreSQL) there is one writer: updates and transfers wait for each other (WAL, synchronous=NORMAL, a busy "
                + "timeout of \(SQLiteDB.busyTimeoutMillis) ms), reads go on beside them",
            "every server uses one seeded database file; updates and transfers change it, the transfer invariants "
                + "(the sum of the balances, none below zero) hold across servers",
            "connections: on SQLite ccore one per loop, threaded and the sync peers one per worker thread (workers), "
                + "the async stack and the async peers a pool of max(2, workers) per server (per process its share); on "
                + "PostgreSQL ccore and async pool max(2, workers) postgres-nio connections (async per event loop), "
                + "threaded and the sync peers one per worker thread (catbench's client; psycopg), the async peers "
                + "asyncpg pools of the same size",
            "statements per request are counted by the database: on PostgreSQL by pg_stat_statements for every "
                + "server; on SQLite by its statement trace for the embedded stacks, while a peer runs in a process of "
                + "its own, where this process's counters cannot see: on SQLite its statements are not counted",
            "on PostgreSQL rows are written in id order and a transfer locks both accounts, lower id first (no "
                + "deadlocks between concurrent requests); the cluster catbench starts runs synchronous_commit=off",
        ],
        invariants: [
            Invariant("balances", workloads: ["transfer"]) { services in
                guard let database = services?.service(DatabaseService.self) else {
                    return ["needs the run's database to read the balances"]
                }
                let (sum, lowest, count) = try database.balances()
                var problems: [String] = []
                if sum != DatabaseData.totalBalance || count != Int64(DatabaseData.accounts) {
                    problems.append(
                        "the \(count) balances sum to \(sum), but transfers keep the sum at \(DatabaseData.totalBalance)"
                            + " (a transfer that did not roll back creates or destroys money)")
                }
                if lowest < 0 { problems.append("a balance is \(lowest): a transfer paid more than the account held") }
                return problems
            }
        ],
        poolLimit: { poolSize($0) }
    )
}
