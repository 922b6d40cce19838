#if canImport(Glibc)
    import Glibc
#endif

/// Turns SIGINT and SIGTERM into a callback on an ordinary thread.
///
/// The signals are blocked in the calling thread (and so in every thread it
/// starts afterwards) and taken with `sigwait` by one thread of ours, so the
/// callback may lock, allocate and write files, which a signal handler may not.
/// Call `install` on the main thread before any other thread starts.
public enum SignalWatcher {
    public static func install(_ onSignal: @escaping @Sendable (Int32) -> Void) throws {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        let rc = pthread_sigmask(SIG_BLOCK, &set, nil)
        guard rc == 0 else { throw PosixError("pthread_sigmask", code: rc) }
        let blocked = set
        _ = try PosixThread(name: "catbench-signals") {
            var waitSet = blocked
            while true {
                var signal: Int32 = 0
                if sigwait(&waitSet, &signal) == 0 {
                    onSignal(signal)
                }
            }
        }
    }
}
