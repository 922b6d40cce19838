#if canImport(Glibc)
    import Glibc
#endif

/// A pool of threads for blocking or CPU-heavy work (Python's
/// ThreadPoolExecutor, anyio's worker threads). Its threads start with the
/// server's hook, so what they do counts as the server's. Work can be awaited
/// (async designs), waited for (sync designs) or completed by callback.
public final class WorkerPool: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var queue: [() -> Void] = []
    private var head = 0
    private var stopped = false
    private var threads: [PosixThread] = []

    public init(name: String, threads count: Int, onThreadStart: (@Sendable () -> Void)?) throws {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        for i in 0..<max(1, count) {
            threads.append(
                try PosixThread(name: "\(name)-\(i)") { [self] in
                    onThreadStart?()
                    loop()
                })
        }
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    public var size: Int { threads.count }

    /// Runs `work` on a pool thread.
    public func submit(_ work: @escaping () -> Void) {
        pthread_mutex_lock(&mutex)
        queue.append(work)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Runs `work` on a pool thread and suspends until it is done.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            submit { continuation.resume(returning: work()) }
        }
    }

    /// Runs `work` on a pool thread and blocks the caller until it is done.
    public func runAndWait<T: Sendable>(_ work: @escaping @Sendable () -> T) -> T {
        let done = Completion<T>()
        submit { done.finish(work()) }
        return done.wait()
    }

    private func loop() {
        while true {
            pthread_mutex_lock(&mutex)
            while head == queue.count && !stopped { pthread_cond_wait(&condition, &mutex) }
            if head == queue.count && stopped {
                pthread_mutex_unlock(&mutex)
                return
            }
            let work = queue[head]
            head += 1
            if head > 1024 && head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            pthread_mutex_unlock(&mutex)
            work()
        }
    }

    /// Runs `task` once on each pool thread and waits for all: every thread
    /// takes one job and holds it until each has taken one, so none takes two.
    /// Work already queued is done first (the harness calls this between loads).
    public func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        let arrived = CountdownLatch(threads.count)
        let finished = CountdownLatch(threads.count)
        for _ in threads {
            submit {
                arrived.countDown()
                arrived.wait()
                task()
                finished.countDown()
            }
        }
        finished.wait()
    }

    /// Finishes the queued work and ends the threads.
    public func stop() {
        pthread_mutex_lock(&mutex)
        stopped = true
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
        for thread in threads { thread.join() }
    }
}

/// Counts down from `count`; `wait` blocks until it reaches zero.
final class CountdownLatch: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var remaining: Int

    init(_ count: Int) {
        remaining = count
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    func countDown() {
        pthread_mutex_lock(&mutex)
        remaining -= 1
        if remaining <= 0 { pthread_cond_broadcast(&condition) }
        pthread_mutex_unlock(&mutex)
    }

    func wait() {
        pthread_mutex_lock(&mutex)
        while remaining > 0 { pthread_cond_wait(&condition, &mutex) }
        pthread_mutex_unlock(&mutex)
    }
}
