import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// A fixed pool of database connections, handed out through DI for one
/// request and given back when it ends. Sync designs wait on a condition;
/// async ones suspend.
public final class ConnectionPool: @unchecked Sendable {
    public let id = DIServices.id("ConnectionPool", 3)
    public let size: Int
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var idle: [PooledConnection]
    private var waiters: [CheckedContinuation<PooledConnection, Never>] = []
    private var leases = 0

    public init(size: Int = DIServices.poolSize) {
        self.size = size
        idle = (0..<size).map { PooledConnection(number: $0 + 1) }
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    /// Connections handed out and not yet returned.
    public var inUse: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return size - idle.count
    }

    /// Takes a connection, blocking the thread until one is free.
    public func acquireBlocking() -> DBConnection {
        pthread_mutex_lock(&mutex)
        while idle.isEmpty { pthread_cond_wait(&condition, &mutex) }
        let connection = idle.removeLast()
        leases += 1
        let lease = leases
        pthread_mutex_unlock(&mutex)
        return DBConnection(pooled: connection, lease: lease, pool: self)
    }

    /// Takes a connection, suspending until one is free.
    public func acquire() async -> DBConnection {
        pthread_mutex_lock(&mutex)
        if let connection = idle.popLast() {
            leases += 1
            let lease = leases
            pthread_mutex_unlock(&mutex)
            return DBConnection(pooled: connection, lease: lease, pool: self)
        }
        pthread_mutex_unlock(&mutex)
        let connection = await withCheckedContinuation { continuation in
            pthread_mutex_lock(&mutex)
            if let connection = idle.popLast() {
                pthread_mutex_unlock(&mutex)
                continuation.resume(returning: connection)
            } else {
                waiters.append(continuation)
                pthread_mutex_unlock(&mutex)
            }
        }
        pthread_mutex_lock(&mutex)
        leases += 1
        let lease = leases
        pthread_mutex_unlock(&mutex)
        return DBConnection(pooled: connection, lease: lease, pool: self)
    }

    fileprivate func giveBack(_ connection: PooledConnection) {
        pthread_mutex_lock(&mutex)
        if !waiters.isEmpty {
            let waiter = waiters.removeFirst()
            pthread_mutex_unlock(&mutex)
            waiter.resume(returning: connection)
            return
        }
        idle.append(connection)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }
}

final class PooledConnection: Sendable {
    let number: Int
    init(number: Int) { self.number = number }
}

/// A connection lent for one request; `release()` gives it back (the
/// containers call it when the request ends).
public final class DBConnection: @unchecked Sendable {
    private let pooled: PooledConnection
    private let pool: ConnectionPool
    private var released = false
    /// The lease: unique per handing-out, so one request's connection differs from the next one's.
    public let leaseID: String

    init(pooled: PooledConnection, lease: Int, pool: ConnectionPool) {
        self.pooled = pooled
        self.pool = pool
        leaseID = "DBConnection#\(pooled.number)/lease#\(lease)"
    }

    public func release() {
        guard !released else { return }
        released = true
        pool.giveBack(pooled)
    }
}
