import Posix
import SuiteKit
#if canImport(Glibc)
    import Glibc
#endif

/// Anything that owns threads doing a server's work besides the stack's own
/// (a worker pool, an HTTP client's event loop): the harness runs a task on
/// each of them, to flush their allocator caches before and after a reading.
public protocol ServerThreads: AnyObject, Sendable {
    func runOnEveryThread(_ task: @escaping @Sendable () -> Void)
}

/// What a suite's registration on one server instance works with: the
/// server's settings, the run's services, and the place to hand over what it
/// starts (threads, files) so that the server stops it and counts its work.
public final class SuiteContext: @unchecked Sendable {
    public let settings: ServerSettings
    public let services: ServiceDirectory
    private var lock = pthread_mutex_t()
    private var threads: [any ServerThreads] = []
    private var stops: [@Sendable () -> Void] = []

    init(settings: ServerSettings, services: ServiceDirectory) {
        self.settings = settings
        self.services = services
        pthread_mutex_init(&lock, nil)
    }

    deinit { pthread_mutex_destroy(&lock) }

    /// The hook every thread doing this server's work runs first (arena, CPU pinning).
    public var onThreadStart: (@Sendable () -> Void)? { settings.onThreadStart }

    /// Threads started for the server's work: the harness reaches them with
    /// the server's own threads.
    public func adopt(_ owner: any ServerThreads) {
        pthread_mutex_lock(&lock)
        threads.append(owner)
        pthread_mutex_unlock(&lock)
    }

    /// Runs when the server stops, last registered first.
    public func onStop(_ body: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&lock)
        stops.append(body)
        pthread_mutex_unlock(&lock)
    }

    func runOnAdoptedThreads(_ task: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(&lock)
        let owners = threads
        pthread_mutex_unlock(&lock)
        for owner in owners { owner.runOnEveryThread(task) }
    }

    func stop() {
        pthread_mutex_lock(&lock)
        let pending = stops
        stops = []
        pthread_mutex_unlock(&lock)
        for body in pending.reversed() { body() }
    }
}
