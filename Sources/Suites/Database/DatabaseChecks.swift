import Posix
import SuiteKit

/// The database suite's checks that take several requests and the database
/// itself: answers compared with rows catbench reads, rows changed behind
/// the server's back, updates read back, a transfer staged and refused, and
/// statements counted by the engine (embedded servers; a server in another
/// process is not seen by this process's counters).
enum DatabaseChecks {
    static func database(_ context: ScenarioContext) -> DatabaseService? {
        context.services?.service(DatabaseService.self)
    }

    static let needsDatabase = ["needs the run's database (catbench starts it with the suite's servers)"]

    /// The rows of a `/queries` or `/updates` answer.
    static func worldRows(_ response: HTTPResponse) -> [(id: Int64, n: Int64)]? {
        JSONValue.parse(response.body)?.arrayValue?.compactMap { row in
            guard let id = row["id"]?.intValue, let n = row["randomNumber"]?.intValue else { return nil }
            return (id, n)
        }
    }

    /// Answers that disagree with the database's rows.
    static func disagreements(_ rows: [(id: Int64, n: Int64)], _ truth: [Int64: Int64]) -> [String] {
        rows.filter { truth[$0.id] != $0.n }.prefix(3).map {
            "row \($0.id) answered \($0.n), the database holds \(truth[$0.id].map(String.init) ?? "no such row")"
        }
    }

    /// Statements run by `body`, counted by the database: on PostgreSQL by
    /// `pg_stat_statements` (the servers' role), on SQLite by the engine's
    /// trace when the server runs in this process (it holds connections, or
    /// its statements moved the counts); nil when nothing can count them.
    static func counted(_ context: ScenarioContext, _ body: () throws -> Void) throws -> SQLiteCounts.Reading? {
        if let database = database(context), database.postgres != nil {
            try database.postgresSettle()
            let before = try database.postgresStatements()!
            try body()
            try database.postgresSettle()
            return try database.postgresStatements()! - before
        }
        let counts = SQLiteCounts.shared
        let before = counts.read()
        let opened = counts.connectionsOpened
        try body()
        let delta = counts.read() - before
        let seen =
            counts.inProcessConnections > 0 || counts.connectionsOpened != opened
            || delta != .init(selects: 0, writes: 0)
        return seen ? delta : nil
    }

    /// Connections the servers opened while `body` ran: PostgreSQL's session
    /// count, or SQLite's connections opened in this process; nil when
    /// nothing can count them.
    static func connectionsOpened(_ context: ScenarioContext, _ body: () throws -> Void) throws -> Int64? {
        if let database = database(context), let before = try database.postgresSessions() {
            try body()
            return try database.postgresSessions()! - before
        }
        let before = SQLiteCounts.shared.connectionsOpened
        try body()
        return Int64(SQLiteCounts.shared.connectionsOpened - before)
    }

    static let scenarios: [Scenario] = [
        Scenario(
            "answers are the database's rows, also after catbench changed every row behind the server's back",
            workloads: ["db"] + DatabaseSuite.queryWorkloads
        ) { context in
            guard let database = database(context) else { return needsDatabase }
            var problems: [String] = []
            let request = DatabaseSuite.queries("500", rows: 500)
            for round in ["before", "after"] {
                if round == "after" { try database.shiftWorlds() }
                let truth = try database.worlds()
                for _ in 0..<2 {
                    let response = try context.client.send(request)
                    guard let rows = worldRows(response), rows.count == 500 else {
                        problems.append("/queries?queries=500 \(round) the change did not answer 500 rows")
                        continue
                    }
                    problems += disagreements(rows, truth).map { "\(round) the change: \($0)" }
                }
                for _ in 0..<5 {
                    let response = try context.client.send(DatabaseSuite.db())
                    if let doc = JSONValue.parse(response.body), let id = doc["id"]?.intValue,
                        let n = doc["randomNumber"]?.intValue, truth[id] != n
                    {
                        problems.append(
                            "/db \(round) the change answered row \(id) = \(n), the database holds \(truth[id] ?? -1)")
                    }
                }
            }
            return Array(problems.prefix(6))
        },
        Scenario("updates are written: catbench reads the rows back", workloads: DatabaseSuite.updateWorkloads) {
            context in
            guard let database = database(context) else { return needsDatabase }
            let before = try database.worlds()
            let response = try context.client.send(DatabaseSuite.queries("20", rows: 20, path: "/updates"))
            guard let rows = worldRows(response), rows.count == 20 else {
                return ["/updates?queries=20 answered no 20 rows"]
            }
            let after = try database.worlds()
            // An id drawn twice in one request is written twice: the last write is the row's.
            var last: [Int64: Int64] = [:]
            for row in rows { last[row.id] = row.n }
            var problems = disagreements(last.map { ($0.key, $0.value) }.sorted { $0.0 < $1.0 }, after).map {
                "after /updates: \($0) (not written?)"
            }
            let changed = Set(rows.map(\.id)).filter { before[$0] != after[$0] }.count
            let distinct = Set(rows.map(\.id)).count
            if changed * 10 < distinct * 9 {
                problems.append(
                    "only \(changed) of the \(distinct) rows changed in the database; updates give new numbers")
            }
            return problems
        },
        Scenario("the fortunes come from the table: a row catbench adds is on the page", workloads: ["fortunes"]) {
            context in
            guard let database = database(context) else { return needsDatabase }
            let added: (id: Int64, message: String) = (
                13, "Added by catbench <b>behind</b> the server's back & \"quoted\""
            )
            try database.addFortune(added.id, added.message)
            defer { try? database.removeFortune(added.id) }
            let response = try context.client.send(DatabaseSuite.fortunes())
            return FortunesPage.problem(response.body, rows: try database.fortunes()).map {
                ["with a 13th row added to the table: \($0)"]
            } ?? []
        },
        Scenario("a page of users is the database's, posts included", workloads: ["users-with-posts"]) { context in
            guard let database = database(context) else { return needsDatabase }
            let offset = Int64.random(in: 1...980)
            let response = try context.client.send(DatabaseSuite.usersWithPosts(offset: offset))
            let truth = try database.usersWithPosts(limit: 10, offset: offset)
            guard let users = JSONValue.parse(response.body)?["users"]?.arrayValue else { return ["no users array"] }
            for (user, expected) in zip(users, truth) {
                let posts =
                    user["posts"]?.arrayValue?.map { ($0["id"]?.intValue ?? -1, $0["title"]?.stringValue ?? "") } ?? []
                if user["id"]?.intValue != expected.id || user["username"]?.stringValue != expected.username
                    || posts.map(\.0) != expected.posts.map(\.id) || posts.map(\.1) != expected.posts.map(\.title)
                {
                    return ["user \(expected.id) at offset \(offset) differs from the database: got \(user)"]
                }
            }
            return users.count == truth.count
                ? [] : ["\(users.count) users, the database has \(truth.count) on the page"]
        },
        Scenario("a transfer commits both writes, a refused one rolls back the credit it made", workloads: ["transfer"])
        {
            context in
            guard let database = database(context) else { return needsDatabase }
            let a = Int64.random(in: 1...500)
            let b = a + 500
            guard let oldA = try database.balance(a), let oldB = try database.balance(b) else {
                return ["accounts \(a) and \(b) are missing from the database"]
            }
            defer {
                try? database.setBalance(a, oldA)
                try? database.setBalance(b, oldB)
            }
            try database.setBalance(a, 500)
            try database.setBalance(b, 500)
            var problems: [String] = []
            let paid = try context.client.send(DatabaseSuite.transfer(from: a, to: b, amount: 200))
            if paid.status != 200 || JSONValue.parse(paid.body)?["balance"]?.intValue != 300 {
                problems.append(
                    "moving 200 of 500 answered \(paid.status) \(paid.bodyText.prefix(80)), expected 200 with balance 300"
                )
            }
            if try database.balance(a) != 300 || database.balance(b) != 700 {
                problems.append(
                    "after moving 200 from \(a) (500) to \(b) (500) the database holds \(try database.balance(a) ?? -1) and "
                        + "\(try database.balance(b) ?? -1), expected 300 and 700")
            }
            let refused = try context.client.send(DatabaseSuite.transfer(from: a, to: b, amount: 301, status: 409))
            if refused.status != 409 { problems.append("moving 301 of 300 answered \(refused.status), expected 409") }
            if try database.balance(a) != 300 || database.balance(b) != 700 {
                problems.append(
                    "a refused transfer of 301 left \(try database.balance(a) ?? -1) and \(try database.balance(b) ?? -1), "
                        + "expected 300 and 700: its credit was not rolled back")
            }
            return problems
        },
        Scenario("statements per request, counted by the database") { context in
            var problems: [String] = []
            /// `writes` bounds one request's writes given its answer; the sum
            /// over the requests is judged, since a request's own count cannot
            /// be read apart (an ORM writes a row drawn twice once, its
            /// identity map holding one object, so requests differ by a write).
            func expect(
                _ what: String, _ spec: RequestSpec, times: Int = 5, selects: ClosedRange<UInt64>,
                writes: (HTTPResponse) -> ClosedRange<UInt64>
            ) throws {
                var allowed: ClosedRange<UInt64> = 0...0
                let delta = try counted(context) {
                    for _ in 0..<times {
                        let bounds = writes(try context.client.send(spec))
                        allowed = (allowed.lowerBound + bounds.lowerBound)...(allowed.upperBound + bounds.upperBound)
                    }
                }
                guard let delta else { return }
                let perSelect = delta.selects / UInt64(times)
                if delta.selects % UInt64(times) != 0 || !selects.contains(perSelect) || !allowed.contains(delta.writes)
                {
                    let perRequest =
                        allowed.lowerBound == allowed.upperBound
                        ? "\(allowed.lowerBound / UInt64(times))"
                        : "\(Double(allowed.lowerBound) / Double(times))…\(Double(allowed.upperBound) / Double(times))"
                    problems.append(
                        "\(what): \(Double(delta.selects) / Double(times)) reads and \(Double(delta.writes) / Double(times)) "
                            + "writes per request, expected \(selects.description(as: "read")) and \(perRequest) writes"
                    )
                }
            }
            func none(_: HTTPResponse) -> ClosedRange<UInt64> { 0...0 }
            /// A write per row of the answer at most, one batched write at least.
            func rowWrites(_ answer: HTTPResponse) -> ClosedRange<UInt64> {
                1...max(1, UInt64(worldRows(answer)?.count ?? 0))
            }
            try expect("db", DatabaseSuite.db(), selects: 1...1, writes: none)
            try expect("queries=20", DatabaseSuite.queries("20", rows: 20), selects: 20...20, writes: none)
            // After 20 reads: a write per row, or one batched write.
            try expect(
                "updates=20", DatabaseSuite.queries("20", rows: 20, path: "/updates"), selects: 20...20,
                writes: rowWrites)
            try expect("fortunes", DatabaseSuite.fortunes(), selects: 1...1, writes: none)
            try expect("users-with-posts", DatabaseSuite.usersWithPosts(offset: 40), selects: 1...2, writes: none)
            return problems
        },
        Scenario("connections are pooled: a warm server opens none for new requests") { context in
            guard try counted(context, { for _ in 0..<10 { _ = try context.client.send(DatabaseSuite.db()) } }) != nil
            else { return [] }
            let opened = try connectionsOpened(context) {
                for _ in 0..<30 { _ = try context.client.send(DatabaseSuite.db()) }
            }
            guard let opened else { return [] }
            return opened == 0
                ? [] : ["30 requests on one warm connection opened \(opened) database connections; a pool opens none"]
        },
        Scenario("the Date header changes", workloads: ["db"]) { context in
            let first = try context.client.send(DatabaseSuite.db()).header("Date")
            Clock.sleep(seconds: 1.1)
            let second = try context.client.send(DatabaseSuite.db()).header("Date")
            guard let first, let second else { return ["no Date header"] }
            return first != second ? [] : ["the Date header stayed '\(first)' for more than a second"]
        },
    ]
}

extension ClosedRange where Bound == UInt64 {
    fileprivate func description(as noun: String) -> String {
        lowerBound == upperBound
            ? "\(lowerBound) \(noun)\(lowerBound == 1 ? "" : "s")" : "\(lowerBound)…\(upperBound) \(noun)s"
    }
}
