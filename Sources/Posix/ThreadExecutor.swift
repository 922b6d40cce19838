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
    private var timers = TimerHeap()
    private var stopped = false
    private var thread: PosixThread?

    public init(name: String, onThreadStart: (@Sendable () -> Void)?) throws {
        pthread_mutex_init(&mutex, nil)
        // Timed waits on the monotonic clock: a wall-clock step must not move a timer.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
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

    /// Suspends the calling task for `nanoseconds` on this executor's own
    /// timer: the thread that wakes it is this one, so the wait's work counts
    /// where the server's does (unlike `Task.sleep`, whose timer fires on a
    /// thread of the global executor).
    public func sleep(nanoseconds: UInt64) async {
        let deadline = Clock.monotonicNanos() &+ nanoseconds
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            pthread_mutex_lock(&mutex)
            timers.push(deadline: deadline, done)
            pthread_cond_signal(&condition)
            pthread_mutex_unlock(&mutex)
        }
    }

    private func loop() {
        var batch: [UnownedJob] = []
        var due: [CheckedContinuation<Void, Never>] = []
        while true {
            pthread_mutex_lock(&mutex)
            while jobs.isEmpty && !stopped {
                guard let next = timers.earliest else {
                    pthread_cond_wait(&condition, &mutex)
                    continue
                }
                if next <= Clock.monotonicNanos() { break }
                var until = timespec(tv_sec: Int(next / 1_000_000_000), tv_nsec: Int(next % 1_000_000_000))
                pthread_cond_timedwait(&condition, &mutex, &until)
            }
            let now = Clock.monotonicNanos()
            // On stop every timer fires, so no task is left suspended.
            while let next = timers.earliest, next <= now || stopped { due.append(timers.pop()) }
            if jobs.isEmpty && due.isEmpty && stopped {
                pthread_mutex_unlock(&mutex)
                return
            }
            swap(&batch, &jobs)
            pthread_mutex_unlock(&mutex)
            // A resumed task's job comes back through enqueue, for the next turn.
            for continuation in due { continuation.resume() }
            due.removeAll(keepingCapacity: true)
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

/// Deadlines and the tasks waiting for them, earliest first (a binary heap).
struct TimerHeap {
    private var deadlines: [UInt64] = []
    private var waiting: [CheckedContinuation<Void, Never>] = []

    var earliest: UInt64? { deadlines.first }

    mutating func push(deadline: UInt64, _ continuation: CheckedContinuation<Void, Never>) {
        deadlines.append(deadline)
        waiting.append(continuation)
        var child = deadlines.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard deadlines[child] < deadlines[parent] else { break }
            deadlines.swapAt(child, parent)
            waiting.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> CheckedContinuation<Void, Never> {
        let top = waiting[0]
        deadlines.swapAt(0, deadlines.count - 1)
        waiting.swapAt(0, waiting.count - 1)
        deadlines.removeLast()
        waiting.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < deadlines.count && deadlines[left] < deadlines[smallest] { smallest = left }
            if right < deadlines.count && deadlines[right] < deadlines[smallest] { smallest = right }
            guard smallest != parent else { return top }
            deadlines.swapAt(parent, smallest)
            waiting.swapAt(parent, smallest)
            parent = smallest
        }
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
