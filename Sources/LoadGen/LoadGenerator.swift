import Atomics
import Histogram
import Posix

/// Runs a bounded HTTP load: `threads` epoll loops sharing `connections`
/// connections, in a closed loop (each connection sends its next request when
/// an answer is in) or an open loop (requests at a constant rate).
public enum LoadGenerator {
    public static func run(_ options: LoadOptions) throws -> LoadResult {
        try options.validate()
        let budget = options.maxRequests.map { ManagedAtomic<Int>($0) }
        let tls = try options.tls.map { try TLSContext($0) }
        // Each request is encoded once per protocol the run may speak, and the threads share the encodings.
        let host = options.host ?? options.address.description
        let h1Table = try H1RequestTable(requests: options.requests, host: host, keepAlive: options.keepAlive)
        let speaksHTTP2 = options.http2 || (options.tls?.alpn.contains("h2") ?? false)
        let h2Table =
            speaksHTTP2
            ? try H2RequestTable(requests: options.requests, host: host, scheme: options.tls == nil ? "http" : "https")
            : nil
        var workers: [LoadWorker] = []
        for t in 0..<options.threads {
            let share = options.connections / options.threads + (t < options.connections % options.threads ? 1 : 0)
            workers.append(
                LoadWorker(
                    options: options, index: t, threads: options.threads, connections: share,
                    budget: budget, tls: tls, h1Table: h1Table, h2Table: h2Table))
        }
        let timeline = TimelineAggregator(threads: workers.count)
        for worker in workers { worker.timeline.aggregator = timeline }
        let start = Clock.monotonicNanos()
        var threads: [PosixThread] = []
        for (t, worker) in workers.enumerated() {
            let box = UncheckedBox(worker)
            let hook = options.onThreadStart
            threads.append(
                try PosixThread(name: "load-\(t)") {
                    hook?()
                    box.value.run(startAt: start)
                })
        }
        for thread in threads { thread.join() }
        return merge(workers, start: start, openLoop: options.rate != nil, timeline: timeline)
    }

    /// Adds every thread's figures; histograms merge exactly (bucket by bucket).
    static func merge(_ workers: [LoadWorker], start: UInt64, openLoop: Bool, timeline: TimelineAggregator)
        -> LoadResult
    {
        var histogram = LoadResult.makeHistogram()
        var uncorrected: Histogram<UInt64>? = openLoop ? LoadResult.makeHistogram() : nil
        var statusCounts: [Int: UInt64] = [:]
        var errors = ErrorCounts()
        var result = LoadResult(
            requests: 0, sent: 0, unsent: 0, seconds: 0, latency: histogram, uncorrectedLatency: nil, timeline: [],
            statusCounts: [:], errors: errors, wrongAnswers: 0, wrongAnswerExamples: [], verified: 0,
            bytesRead: 0, connectionsOpened: 0, cpuNanos: 0, interrupted: false, tlsFailures: [], negotiated: [:],
            abortReason: nil)
        var end = start
        for worker in workers {
            histogram.add(worker.histogram)
            if let u = worker.uncorrected { uncorrected?.add(u) }
            for (status, count) in worker.statusCounts.enumerated() where count > 0 {
                statusCounts[status, default: 0] += count
            }
            errors.add(worker.errors)
            result.requests += worker.completed
            result.sent += worker.sent
            result.unsent += worker.unsent
            result.wrongAnswers += worker.wrongAnswers
            result.wrongAnswerExamples += worker.wrongExamples.prefix(5 - min(5, result.wrongAnswerExamples.count))
            result.verified += worker.verified
            result.bytesRead += worker.bytesRead
            result.connectionsOpened += worker.connectionsOpened
            result.cpuNanos += worker.cpuNanos
            result.interrupted = result.interrupted || worker.interrupted
            for failure in worker.tlsFailures where !result.tlsFailures.contains(failure) {
                result.tlsFailures.append(failure)
            }
            for (name, count) in worker.negotiated { result.negotiated[name, default: 0] += count }
            if result.abortReason == nil { result.abortReason = worker.abortReason }
            end = max(end, worker.lastAnswerAt)
        }
        result.latency = histogram
        result.uncorrectedLatency = uncorrected
        result.timeline = timeline.finish()
        result.statusCounts = statusCounts
        result.errors = errors
        result.seconds = Double(end - start) / 1e9
        return result
    }
}
