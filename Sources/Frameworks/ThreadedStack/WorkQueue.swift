#if canImport(Glibc)
    import Glibc
#endif

/// The hand-off from the acceptor to the worker pool: ready connections in,
/// one worker out per connection. Also carries "run this on every worker"
/// requests, which the harness uses to read per-thread allocator state.
final class WorkQueue: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var ready: [Connection] = []
    private var head = 0
    private var stopped = false
    private var broadcastGeneration = 0
    private var broadcastTask: (@Sendable () -> Void)?
    private var broadcastDone = 0
    private var broadcastCondition = pthread_cond_t()

    init() {
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
        pthread_cond_init(&broadcastCondition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
        pthread_cond_destroy(&broadcastCondition)
    }

    func push(_ connection: Connection) {
        pthread_mutex_lock(&mutex)
        ready.append(connection)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    enum Work {
        case serve(Connection)
        case run(@Sendable () -> Void)
        case stop
    }

    /// Blocks until there is work for the worker that last saw broadcast `seen`.
    func next(seen: inout Int) -> Work {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        while true {
            if stopped { return .stop }
            if seen != broadcastGeneration, let task = broadcastTask {
                seen = broadcastGeneration
                return .run(task)
            }
            if head < ready.count {
                let connection = ready[head]
                head += 1
                if head > 256 && head * 2 > ready.count {
                    ready.removeFirst(head)
                    head = 0
                }
                return .serve(connection)
            }
            pthread_cond_wait(&condition, &mutex)
        }
    }

    /// Runs `task` once on each of `workers` workers and waits for all of them.
    /// Workers busy with a connection run it when they come back for work.
    func runOnEveryWorker(workers: Int, _ task: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&mutex)
        broadcastGeneration += 1
        broadcastDone = 0
        let generation = broadcastGeneration
        broadcastTask = { task() }
        pthread_cond_broadcast(&condition)
        while broadcastDone < workers && generation == broadcastGeneration && !stopped {
            pthread_cond_wait(&broadcastCondition, &mutex)
        }
        broadcastTask = nil
        pthread_mutex_unlock(&mutex)
    }

    func finishedBroadcast() {
        pthread_mutex_lock(&mutex)
        broadcastDone += 1
        pthread_cond_broadcast(&broadcastCondition)
        pthread_mutex_unlock(&mutex)
    }

    /// Wakes every worker to exit; returns the connections nobody took.
    func stop() -> [Connection] {
        pthread_mutex_lock(&mutex)
        stopped = true
        let left = Array(ready[head...])
        ready.removeAll()
        head = 0
        pthread_cond_broadcast(&condition)
        pthread_cond_broadcast(&broadcastCondition)
        pthread_mutex_unlock(&mutex)
        return left
    }
}
