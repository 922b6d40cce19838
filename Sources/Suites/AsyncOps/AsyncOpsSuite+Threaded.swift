import Posix
import SuiteKit
import ThreadedStack

/// The async-operations suite on the threaded stack: everything blocks the
/// worker thread that serves the request, as a sync WSGI view does; the
/// fan-out and the CPU work go to a thread pool and the worker waits.
extension AsyncOpsSuite: ThreadedSuite {
    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        let r = try AsyncOpsRuntime(context)
        // concurrent.futures for the fan-out, sized as a sync app sizes it:
        // every worker thread may have its ten calls in flight at once.
        let fanoutPool = try WorkerPool(
            name: "fanout-pool", threads: AsyncWork.fanout * context.settings.workers,
            onThreadStart: context.onThreadStart)
        context.adopt(fanoutPool)
        context.onStop { fanoutPool.stop() }
        try app.route("/async/io") { _ in
            Clock.sleep(seconds: Double(AsyncWork.ioNanos) / 1e9)
            return .json(["io": "done"])
        }
        try app.route("/async/fanout") { request in
            let group = request.args["group"] ?? ""
            // Submit the calls, then wait for every one.
            let done = FanoutResults(count: AsyncWork.fanout)
            for call in 0..<AsyncWork.fanout {
                fanoutPool.submit {
                    done.finish(call, r.blockingUpstream(AsyncWork.fanoutTarget(call: call, group: group)) ?? -1)
                }
            }
            let results = done.wait()
            return .json(["calls": .int(results.count), "results": .array(results.map { .int(Int($0)) })])
        }
        try app.route("/async/upstream") { request in
            let n = Int(request.args["n"] ?? "") ?? 0
            return .json(["upstream": ["n": .int(Int(r.blockingUpstream(AsyncWork.upstreamTarget(n: n)) ?? -1))]])
        }
        try app.route("/async/file") { _ in
            let (bytes, checksum) = r.readFile()
            return .json(["bytes": .int(bytes), "sha256": .string(checksum)])
        }
        try app.route("/async/cpu") { request in
            let seed = UInt64(request.args["seed"] ?? "") ?? 1
            let result = r.pool.runAndWait { AsyncWork.cpu(seed: seed) }
            return .json(["seed": .string(String(seed)), "result": .string(result)])
        }
        try app.route("/async/sync") { _ in .json(["sync": true]) }
    }
}

/// The fan-out's results, collected from pool threads; `wait` blocks until all are in.
final class FanoutResults: @unchecked Sendable {
    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var results: [(call: Int, value: Int64)] = []
    private let count: Int

    init(count: Int) {
        self.count = count
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&condition, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&condition)
    }

    func finish(_ call: Int, _ value: Int64) {
        pthread_mutex_lock(&mutex)
        results.append((call, value))
        if results.count == count { pthread_cond_signal(&condition) }
        pthread_mutex_unlock(&mutex)
    }

    /// The values in call order.
    func wait() -> [Int64] {
        pthread_mutex_lock(&mutex)
        while results.count < count { pthread_cond_wait(&condition, &mutex) }
        let sorted = results.sorted { $0.call < $1.call }.map(\.value)
        pthread_mutex_unlock(&mutex)
        return sorted
    }
}

#if canImport(Glibc)
    import Glibc
#endif
