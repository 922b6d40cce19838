import CPosix
#if canImport(Glibc)
    import Glibc
#endif

/// A joinable POSIX thread running a Swift closure. The frameworks and the load
/// generator own their threads (instead of Dispatch or the concurrency pool) so
/// that each thread can be given its jemalloc arena and CPU affinity.
public final class PosixThread: @unchecked Sendable {
    private var handle: pthread_t
    public let name: String

    private final class Box {
        let name: String
        let body: () -> Void
        init(_ name: String, _ body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    public init(name: String, body: @escaping @Sendable () -> Void) throws {
        self.name = name
        let box = Unmanaged.passRetained(Box(name, body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                setCurrentThreadName(box.name)
                box.body()
                return nil
            }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw PosixError("pthread_create", code: rc)
        }
        handle = thread
    }

    public func join() {
        pthread_join(handle, nil)
    }
}

/// The kernel thread id of the caller (as in /proc/self/task).
public func currentThreadID() -> Int32 {
    cposix_gettid()
}

/// Names the calling thread; names show up in `top -H` and perf (15 characters kept).
public func setCurrentThreadName(_ name: String) {
    cposix_set_thread_name(name)
}
