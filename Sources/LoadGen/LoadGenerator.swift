import Atomics
import Histogram
import Posix

/// Runs a bounded HTTP/1.1 load: `threads` epoll loops sharing `connections`
/// keep-alive connections in a closed loop (each connection sends its next
/// request when the last answer is in).
public enum LoadGenerator {
    public static func run(_ options: LoadOptions) throws -> LoadResult {
        try options.validate()
        let budget = options.maxRequests.map { ManagedAtomic<Int>($0) }
        var workers: [LoadWorker] = []
        for t in 0..<options.threads {
            let share = options.connections / options.threads + (t < options.connections % options.threads ? 1 : 0)
            workers.append(LoadWorker(options: options, index: t, connections: share, budget: budget))
        }
        let start = Clock.monotonicNanos()
        let boxes = workers.map { UncheckedBox($0) }
        var threads: [PosixThread] = []
        for (t, box) in boxes.enumerated() {
            threads.append(try PosixThread(name: "load-\(t)") {
                options.onThreadStart?()
                box.value.run(startAt: start)
            })
        }
        for thread in threads { thread.join() }
        return merge(workers, start: start)
    }

    private static func merge(_ workers: [LoadWorker], start: UInt64) -> LoadResult {
        var histogram = LoadResult.makeHistogram()
        var statusCounts: [Int: UInt64] = [:]
        var errors = ErrorCounts()
        var result = LoadResult(requests: 0, sent: 0, seconds: 0, latency: histogram, statusCounts: [:], errors: errors,
                                wrongAnswers: 0, wrongAnswerExamples: [], verified: 0, bytesRead: 0,
                                connectionsOpened: 0, cpuNanos: 0, interrupted: false)
        var end = start
        for worker in workers {
            histogram.add(worker.histogram)
            for (status, count) in worker.statusCounts.enumerated() where count > 0 {
                statusCounts[status, default: 0] += count
            }
            errors.add(worker.errors)
            result.requests += worker.completed
            result.sent += worker.sent
            result.wrongAnswers += worker.wrongAnswers
            result.wrongAnswerExamples += worker.wrongExamples.prefix(5 - min(5, result.wrongAnswerExamples.count))
            result.verified += worker.verified
            result.bytesRead += worker.bytesRead
            result.connectionsOpened += worker.connectionsOpened
            result.cpuNanos += worker.cpuNanos
            result.interrupted = result.interrupted || worker.interrupted
            end = max(end, worker.lastAnswerAt)
        }
        result.latency = histogram
        result.statusCounts = statusCounts
        result.errors = errors
        result.seconds = Double(end - start) / 1e9
        return result
    }
}

/// Hands a worker to its thread; the thread is joined before the worker is read again.
private final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
