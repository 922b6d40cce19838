#if canImport(Glibc)
import Glibc
#endif

/// A Swift concurrency executor that runs its jobs on one thread of its own,
/// started with the server's thread hook. Sync designs use it to await async
/// work (a sync handler calling async code: Catzilla's bridge, Django's
/// async_to_sync); because the thread belongs to the server, the work's CPU
/// time and allocations count as the server's.
public final class ThreadExecutor: TaskExecutor, @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var jobs: [UnownedJob] = []
    private var stopped = false
    private var thread: PosixThread?

    public init(name: String, onThreadStart: (@Sendable () -> Void)?) throws {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        thread = try PosixThread(name: name) { [self] in
            onThreadStart?()
            loop()
        }
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        pthread_mutex_lock(&mutex)
        jobs.append(unowned)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    private func loop() {
        var batch: [UnownedJob] = []
        while true {
            pthread_mutex_lock(&mutex)
            while jobs.isEmpty && !stopped { pthread_cond_wait(&condition, &mutex) }
            if jobs.isEmpty && stopped {
                pthread_mutex_unlock(&mutex)
                return
            }
            swap(&batch, &jobs)
            pthread_mutex_unlock(&mutex)
            for job in batch { job.runSynchronously(on: asUnownedTaskExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }

    /// Runs `body` on this executor and blocks the calling thread until it is done.
    public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let done = Completion<T>()
        Task(executorPreference: self) { done.finish(await body()) }
        return done.wait()
    }

    /// Lets the thread finish its queue and end.
    public func stop() {
        pthread_mutex_lock(&mutex)
        stopped = true
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
        thread?.join()
    }
}

/// A one-shot value handed from a task to a blocked thread.
final class Completion<T>: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var value: T?

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    func finish(_ v: T) {
        pthread_mutex_lock(&mutex)
        value = v
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    func wait() -> T {
        pthread_mutex_lock(&mutex)
        while value == nil { pthread_cond_wait(&condition, &mutex) }
        let v = value!
        pthread_mutex_unlock(&mutex)
        return v
    }
}

