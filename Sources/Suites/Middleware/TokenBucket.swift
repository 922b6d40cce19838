import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// Rate limits by client key: a token bucket per key, refilled continuously.
/// Thread-safe (one lock; the stacks share nothing else per request).
public final class RateLimiter: @unchecked Sendable {
    public struct Decision: Sendable {
        public let allowed: Bool
        /// Whole seconds until a token is back, for `Retry-After`.
        public let retryAfter: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: UInt64
    }

    private var mutex = pthread_mutex_t()
    private var buckets: [String: Bucket] = [:]
    private let policy: @Sendable (String) -> (capacity: Double, perSecond: Double)

    /// `policy` gives each key's capacity and refill rate.
    public init(policy: @escaping @Sendable (String) -> (capacity: Double, perSecond: Double)) {
        self.policy = policy
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    public func take(_ key: String, now: UInt64 = Clock.monotonicNanos()) -> Decision {
        let (capacity, rate) = policy(key)
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
        bucket.tokens = min(capacity, bucket.tokens + Double(now &- bucket.updated) / 1e9 * rate)
        bucket.updated = now
        if bucket.tokens >= 1 {
            bucket.tokens -= 1
            buckets[key] = bucket
            return Decision(allowed: true, retryAfter: 0)
        }
        buckets[key] = bucket
        return Decision(allowed: false, retryAfter: max(1, Int(((1 - bucket.tokens) / rate).rounded(.up))))
    }
}

/// The in-memory sink the logging middleware writes to: a count and the most
/// recent records, bounded.
public final class LogSink: @unchecked Sendable {
    public struct Record: Sendable {
        public let method: String
        public let path: String
        public let status: Int
        public let micros: Int

        public init(method: String, path: String, status: Int, micros: Int) {
            self.method = method
            self.path = path
            self.status = status
            self.micros = micros
        }
    }

    private var mutex = pthread_mutex_t()
    private var ring: [Record?]
    private var next = 0
    private(set) public var count = 0

    public init(capacity: Int = 1024) {
        ring = [Record?](repeating: nil, count: capacity)
        pthread_mutex_init(&mutex, nil)
    }

    deinit { pthread_mutex_destroy(&mutex) }

    public func append(_ record: Record) {
        pthread_mutex_lock(&mutex)
        ring[next] = record
        next = (next + 1) % ring.count
        count += 1
        pthread_mutex_unlock(&mutex)
    }

    public var total: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return count
    }
}
