import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// One connection and its statements, compiled once and kept: what a ccore
/// loop or a threaded worker owns. Blocking calls: the time they take is the
/// engine's (the pages are in memory; a writer waits for the one writer).
public final class SQLiteSession: DatabaseSession, @unchecked Sendable {
    let db: SQLiteDB
    private let world: SQLitePrepared
    private let update: SQLitePrepared
    private let fortunes: SQLitePrepared
    private let usersWithPosts: SQLitePrepared
    private let credit: SQLitePrepared
    private let debit: SQLitePrepared
    private let selectBalance: SQLitePrepared
    private let begin: SQLitePrepared
    private let commit: SQLitePrepared
    private let rollback: SQLitePrepared

    /// The owner's own generator (no lock, no system call per number).
    public var random: SeededRandom

    /// `counted: false` only for catbench's own reads (the ground truth), which are no server's statements.
    public init(path: String, counted: Bool = true) throws {
        random = SeededRandom(seed: Clock.monotonicNanos() ^ UInt64(pthread_self()))
        db = try SQLiteDB(path: path, counted: counted)
        world = try db.prepare(DatabaseData.selectWorld)
        update = try db.prepare(DatabaseData.updateWorld)
        fortunes = try db.prepare(DatabaseData.selectFortunes)
        usersWithPosts = try db.prepare(DatabaseData.selectUsersWithPosts)
        credit = try db.prepare(DatabaseData.credit)
        debit = try db.prepare(DatabaseData.debit)
        selectBalance = try db.prepare(DatabaseData.selectBalance)
        begin = try db.prepare("BEGIN IMMEDIATE")
        commit = try db.prepare("COMMIT")
        rollback = try db.prepare("ROLLBACK")
    }

    /// One world row's randomNumber, or nil when there is no such row.
    public func world(_ id: Int64) throws -> Int64? {
        world.bind(1, id)
        defer { world.reset() }
        return try world.step() ? world.int(1) : nil
    }

    /// Writes `rows` back in one write transaction, a statement per row.
    public func write(_ rows: [WorldRow]) throws {
        try db.writeTransaction(begin: begin, commit: commit, rollback: rollback) {
            for row in rows { try update.bind(1, row.randomNumber).bind(2, row.id).run() }
        }
    }

    public func fortuneRows() throws -> [(id: Int64, message: String)] {
        defer { fortunes.reset() }
        var rows: [(id: Int64, message: String)] = []
        rows.reserveCapacity(13)
        while try fortunes.step() { rows.append((fortunes.int(0), fortunes.text(1))) }
        return rows
    }

    /// A page of users with their posts, from one joined query.
    public func usersWithPosts(limit: Int64, offset: Int64) throws -> [UserWithPosts] {
        usersWithPosts.bind(1, limit).bind(2, offset)
        defer { usersWithPosts.reset() }
        var users: [UserWithPosts] = []
        while try usersWithPosts.step() {
            let id = usersWithPosts.int(0)
            if users.last?.id != id {
                users.append(UserWithPosts(id: id, username: usersWithPosts.text(1), posts: []))
            }
            if usersWithPosts.isNull(2) { continue }
            users[users.count - 1].posts.append(PostSummary(id: usersWithPosts.int(2), title: usersWithPosts.text(3)))
        }
        return users
    }

    /// One account's balance, or nil when there is no such account.
    public func balance(_ id: Int64) throws -> Int64? {
        selectBalance.bind(1, id)
        defer { selectBalance.reset() }
        return try selectBalance.step() ? selectBalance.int(0) : nil
    }

    /// Credits `to`, then finds whether `from` can pay; rolls back when it
    /// cannot (or an account is missing), else debits it and commits.
    /// Returns `from`'s new balance.
    public func transfer(_ t: DatabaseData.Transfer) throws -> Result<Int64, DatabaseData.TransferError> {
        do {
            let left = try db.writeTransaction(begin: begin, commit: commit, rollback: rollback) { () throws -> Int64 in
                try credit.bind(1, t.amount).bind(2, t.to).run()
                guard db.changes == 1 else { throw DatabaseData.TransferError.unknownAccount(t.to) }
                guard let has = try balance(t.from) else { throw DatabaseData.TransferError.unknownAccount(t.from) }
                guard has >= t.amount else { throw DatabaseData.TransferError.insufficientFunds(balance: has) }
                try debit.bind(1, t.amount).bind(2, t.from).run()
                return has - t.amount
            }
            return .success(left)
        } catch let refused as DatabaseData.TransferError {
            return .failure(refused)
        }
    }
}

public struct WorldRow: Sendable, Encodable, Equatable {
    public let id: Int64
    public let randomNumber: Int64

    public init(id: Int64, randomNumber: Int64) {
        self.id = id
        self.randomNumber = randomNumber
    }
}

public struct PostSummary: Sendable, Encodable {
    public let id: Int64
    public let title: String
}

public struct UserWithPosts: Sendable, Encodable {
    public let id: Int64
    public let username: String
    public var posts: [PostSummary]
}

/// A session per thread, opened on the thread's first request and kept for
/// its life (a ccore loop's, a threaded worker's); all closed when the
/// server stops.
public final class PerThreadSessions: @unchecked Sendable {
    private var key = pthread_key_t()
    private var mutex = pthread_mutex_t()
    private var all: [Held] = []

    /// A session as a thread-specific value holds it.
    private final class Held {
        let session: any DatabaseSession
        init(_ session: any DatabaseSession) { self.session = session }
    }
    private let open: @Sendable () throws -> any DatabaseSession

    public init(open: @escaping @Sendable () throws -> any DatabaseSession) {
        self.open = open
        pthread_key_create(&key, nil)
        pthread_mutex_init(&mutex, nil)
    }

    deinit {
        pthread_key_delete(key)
        pthread_mutex_destroy(&mutex)
    }

    /// The calling thread's session.
    public func current() throws -> any DatabaseSession {
        if let raw = pthread_getspecific(key) {
            return Unmanaged<Held>.fromOpaque(raw).takeUnretainedValue().session
        }
        let session = Held(try open())
        pthread_mutex_lock(&mutex)
        all.append(session)
        pthread_mutex_unlock(&mutex)
        pthread_setspecific(key, Unmanaged.passUnretained(session).toOpaque())
        return session.session
    }

    /// Connections open now.
    public var count: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return all.count
    }

    /// Closes every session (the threads are stopped by then).
    public func closeAll() {
        pthread_mutex_lock(&mutex)
        all = []
        pthread_mutex_unlock(&mutex)
    }
}
