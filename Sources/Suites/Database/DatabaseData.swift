import SuiteKit

/// The database suite's business logic, the same for every stack: the data
/// catbench seeds (from a fixed seed), the SQL every server runs, the
/// parameter rules, the fortunes page and the transfer's rules.
public enum DatabaseData {
    public static let worldRows = 10_000
    public static let users = 1_000
    public static let postsPerUser = 10
    public static let commentsPerPost = 3
    public static let accounts = 1_000
    public static let openingBalance: Int64 = 1_000
    /// Every balance together, before and after any number of transfers.
    public static var totalBalance: Int64 { Int64(accounts) * openingBalance }
    /// Transfers ask for 1…this much: about a quarter ask for more than an opening balance.
    public static let largestTransfer: Int64 = 1_333
    static let seed: UInt64 = 0x00DA_7ABA_5E

    /// TechEmpower's twelve fortunes.
    public static let fortunes: [(id: Int64, message: String)] = [
        (1, "fortune: No such file or directory"),
        (2, "A computer scientist is someone who fixes things that aren't broken."),
        (3, "After enough decimal places, nobody gives a damn."),
        (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
        (5, "A computer program does what you tell it to do, not what you want it to do."),
        (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
        (7, "Any program that runs right is obsolete."),
        (8, "A list is only as strong as its weakest link. — Donald Knuth"),
        (9, "Feature: A bug with seniority."),
        (10, "Computers make very fast, very accurate mistakes."),
        (11, "<script>alert(\"This should not be displayed in a browser alert box.\");</script>"),
        (12, "フレームワークのベンチマーク"),
    ]
    /// The fortune every server adds at request time (id 0).
    public static let addedFortune = "Additional fortune added at request time."

    /// The schema and the seeded rows, as one SQL script (SQLite's dialect).
    public static func seedScript() -> String {
        var random = SeededRandom(seed: seed)
        var sql = """
            CREATE TABLE world (id INTEGER PRIMARY KEY, randomNumber INTEGER NOT NULL);
            CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL);
            CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, email TEXT NOT NULL);
            CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id),
                title TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX posts_user_id ON posts(user_id);
            CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts(id),
                user_id INTEGER NOT NULL REFERENCES users(id), body TEXT NOT NULL);
            CREATE INDEX comments_post_id ON comments(post_id);
            CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
            BEGIN;

            """
        for id in 1...worldRows {
            sql += "INSERT INTO world VALUES (\(id), \(Int.random(in: 1...worldRows, using: &random)));\n"
        }
        for (id, message) in fortunes {
            sql += "INSERT INTO fortune VALUES (\(id), '\(message.replacing("'", with: "''"))');\n"
        }
        var post = 0
        var comment = 0
        // Every user before any post: a comment's author may be a later user, and PostgreSQL checks the keys.
        for user in 1...users {
            sql += "INSERT INTO users VALUES (\(user), 'user\(user)', 'user\(user)@example.com');\n"
        }
        for user in 1...users {
            for n in 1...postsPerUser {
                post += 1
                sql += "INSERT INTO posts VALUES (\(post), \(user), 'Post \(n) by user\(user)', "
                sql += "'Body of post \(post): \(random.next() % 1_000_000)');\n"
                for _ in 0..<commentsPerPost {
                    comment += 1
                    let author = Int.random(in: 1...users, using: &random)
                    sql += "INSERT INTO comments VALUES (\(comment), \(post), \(author), 'Comment \(comment)');\n"
                }
            }
        }
        for id in 1...accounts { sql += "INSERT INTO accounts VALUES (\(id), \(openingBalance));\n" }
        return sql + "COMMIT;\n"
    }

    // MARK: SQL every server runs (one statement each; `?` parameters)

    public static let selectWorld = "SELECT id, randomNumber FROM world WHERE id = ?"
    public static let updateWorld = "UPDATE world SET randomNumber = ? WHERE id = ?"
    public static let selectFortunes = "SELECT id, message FROM fortune"
    /// One query for a page of users and all their posts (not one per user).
    public static let selectUsersWithPosts = """
        SELECT u.id, u.username, p.id, p.title
        FROM (SELECT id, username FROM users ORDER BY id LIMIT ? OFFSET ?) AS u
        LEFT JOIN posts AS p ON p.user_id = u.id
        ORDER BY u.id, p.id
        """
    public static let credit = "UPDATE accounts SET balance = balance + ? WHERE id = ?"
    public static let debit = "UPDATE accounts SET balance = balance - ? WHERE id = ?"
    public static let selectBalance = "SELECT balance FROM accounts WHERE id = ?"
    /// PostgreSQL's transfer locks both accounts, lower id first (no deadlock between two transfers).
    public static let lockAccounts = "SELECT id, balance FROM accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE"

    /// `sql` with PostgreSQL's numbered parameters (`$1`, `$2`…) for `?`.
    public static func numbered(_ sql: String) -> String {
        var out = ""
        var n = 0
        for c in sql {
            if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    // MARK: Parameters

    /// TechEmpower's rule: 1…500; missing, `0`, `foo` or empty give 1.
    public static func queryCount(_ text: String?) -> Int {
        guard let text, let n = Int(text) else { return 1 }
        return min(max(n, 1), 500)
    }

    /// A random world id (1…10,000).
    public static func randomID<R: RandomNumberGenerator>(using random: inout R) -> Int64 {
        Int64.random(in: 1...Int64(worldRows), using: &random)
    }

    /// `limit` 1…50 (default 10) and `offset` ≥ 0 (default 0).
    public static func page(limit: String?, offset: String?) -> (limit: Int64, offset: Int64) {
        let l = limit.flatMap { Int64($0) }.map { min(max($0, 1), 50) } ?? 10
        let o = offset.flatMap { Int64($0) }.map { max($0, 0) } ?? 0
        return (l, o)
    }

    // MARK: Fortunes

    /// The rows plus the one added at request time, sorted by message (by
    /// code point), as TechEmpower's page.
    public static func fortunesPage(_ rows: [(id: Int64, message: String)]) -> [UInt8] {
        var all = rows
        all.append((0, addedFortune))
        all.sort { $0.message.utf8.lexicographicallyPrecedes($1.message.utf8) }
        var html: [UInt8] = []
        html.reserveCapacity(1400)
        html.append(
            contentsOf:
                "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>"
                .utf8)
        for row in all {
            html.append(contentsOf: "<tr><td>".utf8)
            html.append(contentsOf: String(row.id).utf8)
            html.append(contentsOf: "</td><td>".utf8)
            escapeHTML(row.message, into: &html)
            html.append(contentsOf: "</td></tr>".utf8)
        }
        html.append(contentsOf: "</table></body></html>".utf8)
        return html
    }

    static func escapeHTML(_ text: String, into out: inout [UInt8]) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "&"): out.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): out.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): out.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): out.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): out.append(contentsOf: "&#39;".utf8)
            default: out.append(byte)
            }
        }
    }

    // MARK: Transfers

    /// A transfer's parameters, or the 400 a bad one gets.
    public static func transfer(from: String?, to: String?, amount: String?) -> Result<Transfer, TransferError> {
        guard let from = from.flatMap({ Int64($0) }), let to = to.flatMap({ Int64($0) }),
            let amount = amount.flatMap({ Int64($0) })
        else { return .failure(.badRequest("from, to and amount must be integers")) }
        guard from != to else { return .failure(.badRequest("from and to must differ")) }
        guard amount > 0 && amount <= 1_000_000_000 else {
            return .failure(.badRequest("amount must be 1…1000000000"))
        }
        return .success(Transfer(from: from, to: to, amount: amount))
    }

    public struct Transfer: Sendable {
        public let from: Int64
        public let to: Int64
        public let amount: Int64
    }

    /// Why a transfer did not happen: its status and message.
    public enum TransferError: Error, Sendable {
        case badRequest(String)
        case unknownAccount(Int64)
        case insufficientFunds(balance: Int64)

        public var status: Int {
            switch self {
            case .badRequest: 400
            case .unknownAccount: 404
            case .insufficientFunds: 409
            }
        }

        public var message: String {
            switch self {
            case .badRequest(let why): why
            case .unknownAccount(let id): "no account \(id)"
            case .insufficientFunds(let balance): "insufficient funds: the balance is \(balance)"
            }
        }
    }
}
