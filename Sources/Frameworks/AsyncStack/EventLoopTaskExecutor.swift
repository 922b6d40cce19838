import NIOCore

/// Runs Swift concurrency jobs on a NIO event loop, so that a request's task
/// stays on the thread that owns its connection (and on that thread's CPU and
/// allocator arena) instead of hopping to the global pool.
final class EventLoopTaskExecutor: TaskExecutor, @unchecked Sendable {
    let eventLoop: EventLoop

    init(_ eventLoop: EventLoop) { self.eventLoop = eventLoop }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        eventLoop.execute {
            unowned.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
