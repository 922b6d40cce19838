import Atomics
import Histogram
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// One load thread: an epoll loop over its share of the connections.
///
/// Kept cheap per request the way wrk is, and cheaper in system calls: every
/// connection is registered once, edge-triggered for input and output, so a
/// request costs one write, one read and a share of one `epoll_wait` — no
/// `epoll_ctl` per request. Requests are encoded once per run and shared by the
/// threads (`H1RequestTable`, `H2RequestTable`); answers are scanned in place
/// in a fixed buffer per connection; pipelined requests go out in one `writev`.
final class LoadWorker {
    static let bufferCapacity = 16 * 1024
    static let maxPipeline = 256

    let options: LoadOptions
    let index: Int
    let threads: Int
    let budget: ManagedAtomic<Int>?
    let tls: TLSContext?
    /// Distinct TLS failures, for the result (a handshake error is otherwise only a count).
    var tlsFailures: [String] = []
    /// Gathers small pipelined requests into one TLS record (TLS has no writev).
    var gather: [UInt8] = []
    static let gatherLimit = 16 * 1024
    let h1Table: H1RequestTable
    let h2Table: H2RequestTable?
    var h2Sessions: [H2Session?]
    let epfd: Int32
    let slots: UnsafeMutablePointer<ConnectionSlot>
    let slotCount: Int
    let depth: Int
    private let buffers: UnsafeMutablePointer<UInt8>
    let variantCount: Int
    let expected: [Int32]
    let isHead: [Bool]
    var nextVariant: Int

    // In-flight FIFO rings, `depth` entries per slot.
    let pendVariant: UnsafeMutablePointer<Int32>
    let pendSent: UnsafeMutablePointer<UInt64>
    let pendIntended: UnsafeMutablePointer<UInt64>
    let iov: UnsafeMutablePointer<iovec>
    let iovCapacity: Int

    // Open loop.
    let openLoop: Bool
    let intervalNanos: UInt64
    let spacingNanos: UInt64
    let due: DueHeap
    /// Open loop: no request is due at or after this time (the end of the run's duration).
    var scheduleEnd: UInt64 = .max

    // Run state.
    var startedAt: UInt64 = 0
    var draining = false
    var activeCount = 0
    /// Connections with a global index below this may send (the profile's users now).
    var activeTarget = 0

    // Results, merged by the generator after the thread ends.
    var histogram = LoadResult.makeHistogram()
    var uncorrected: Histogram<UInt64>?
    var timeline = TimelineRecorder()
    var statusCounts = [UInt64](repeating: 0, count: 600)
    var errors = ErrorCounts()
    var completed: UInt64 = 0
    private var publishedAnswers: UInt64 = 0
    private var publishedErrors: UInt64 = 0
    var sent: UInt64 = 0
    /// Open loop: requests due before the end that were never sent.
    var unsent: UInt64 = 0
    var wrongAnswers: UInt64 = 0
    var wrongExamples: [String] = []
    var verified: UInt64 = 0
    var bytesRead: UInt64 = 0
    var connectionsOpened: UInt64 = 0
    var lastAnswerAt: UInt64 = 0
    var cpuNanos: UInt64 = 0
    var interrupted = false
    /// TLS connections by the protocol ALPN chose.
    var negotiated: [String: UInt64] = [:]
    /// Whether any connection of this thread got through (TCP and TLS).
    var everConnected = false
    /// Why the last connection attempt failed.
    var lastConnectError = ""
    /// Set when the thread gave up: no connection could be made at all.
    var abortReason: String?

    var sampleHead: [UInt8] = []
    var sampleBody: [UInt8] = []
    var sinceSample = 0
    /// The connection whose answer is being kept for a check, or -1: one at a
    /// time, since the sample buffers are the thread's.
    var samplingSlot = -1

    init(
        options: LoadOptions, index: Int, threads: Int, connections: Int, budget: ManagedAtomic<Int>?, tls: TLSContext?,
        h1Table: H1RequestTable, h2Table: H2RequestTable?
    ) {
        self.options = options
        self.tls = tls
        self.h1Table = h1Table
        self.h2Table = h2Table
        h2Sessions = [H2Session?](repeating: nil, count: connections)
        self.index = index
        self.threads = threads
        self.budget = budget
        slotCount = connections
        depth = options.pipeline
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        buffers = .allocate(capacity: connections * Self.bufferCapacity)
        slots = .allocate(capacity: connections)
        for i in 0..<connections {
            (slots + i).initialize(to: ConnectionSlot(buffer: buffers + i * Self.bufferCapacity))
        }
        pendVariant = .allocate(capacity: connections * options.pipeline)
        pendSent = .allocate(capacity: connections * options.pipeline)
        pendIntended = .allocate(capacity: connections * options.pipeline)
        // IOV_MAX is 1024: a longer write is taken in turns.
        iovCapacity = min(1024, options.pipeline * h1Table.maxPieces)
        iov = .allocate(capacity: iovCapacity)
        gather.reserveCapacity(Self.gatherLimit)
        variantCount = options.requests.count
        expected = options.requests.map { Int32($0.expectedStatus) }
        isHead = options.requests.map(\.isHead)
        // Threads start at different points of the variant list.
        nextVariant = (index * 7919) % options.requests.count
        if let rate = options.rate {
            openLoop = true
            // Every connection sends every `interval`; connections are offset
            // from each other by `spacing`, so that sends are spread evenly.
            spacingNanos = max(1, UInt64(1e9 / rate))
            intervalNanos = spacingNanos &* UInt64(options.connections)
            uncorrected = LoadResult.makeHistogram()
            due = DueHeap(capacity: connections)
        } else {
            openLoop = false
            spacingNanos = 0
            intervalNanos = 0
            due = DueHeap(capacity: options.keepAlive ? 0 : connections)
        }
    }

    deinit {
        for i in 0..<slotCount where slots[i].fd >= 0 { closeSocket(i) }
        slots.deinitialize(count: slotCount)
        slots.deallocate()
        buffers.deallocate()
        pendVariant.deallocate()
        pendSent.deallocate()
        pendIntended.deallocate()
        iov.deallocate()
        close(epfd)
    }

    /// The connection's number over all threads (threads take turns), which
    /// decides when a profile activates it and its place in the send schedule.
    @inline(__always) func globalIndex(_ i: Int) -> Int { i * threads + index }

    /// Adds what this thread did since the last call to the live counters.
    func publishProgress() {
        guard let live = options.progress else { return }
        let errorTotal = errors.total
        live.answers.wrappingIncrement(by: completed - publishedAnswers, ordering: .relaxed)
        live.errors.wrappingIncrement(by: errorTotal - publishedErrors, ordering: .relaxed)
        publishedAnswers = completed
        publishedErrors = errorTotal
    }

    func run(startAt: UInt64) {
        let cpuStart = Clock.threadCPUNanos()
        defer {
            cpuNanos = Clock.threadCPUNanos() - cpuStart
            publishProgress()
        }
        startedAt = startAt
        lastAnswerAt = startAt
        let deadline = options.duration.map { startAt + UInt64($0 * 1e9) } ?? UInt64.max
        scheduleEnd = deadline
        let timeoutNanos = UInt64(options.timeout * 1e9)
        var drainUntil: UInt64 = 0
        applyProfile(now: startAt)

        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var lastSweep = startAt
        while true {
            let now = Clock.monotonicNanos()
            if options.stop?.load(ordering: .relaxed) == true {
                interrupted = true
                if !draining { countUnsent(until: min(now, deadline)) }
                break
            }
            // Close the seconds that ended before anything below changes the
            // active connections, so that a change counts in the second it happened in.
            timeline.advance(to: now - startAt, active: activeCount)
            if !draining && now >= deadline {
                // Requests due before the end that a late turn of this loop has
                // not sent yet go out now; those whose connection is busy never will.
                while let i = due.popDue(deadline - 1) {
                    slots[i].inHeap = false
                    if slots[i].state == .open { fill(i, now: now) }
                }
                countUnsent(until: deadline)
                draining = true
                drainUntil = now + min(timeoutNanos, 2_000_000_000)
                for i in 0..<slotCount where !slots[i].busy { finish(i) }
            }
            if draining && (now >= drainUntil || !anyBusy()) { break }
            if !everConnected && cannotConnect() {
                // Every connection failed three times and none ever worked: a
                // wrong address, a dead server or a refused certificate will
                // not change by retrying until the end of the run.
                abortReason =
                    "no connection could be made to \(options.address): \(tlsFailures.first ?? lastConnectError)"
                break
            }
            if !draining && budget != nil && allFinished() { break }
            if now - lastSweep >= 10_000_000 {
                lastSweep = now
                sweep(now: now, timeoutNanos: timeoutNanos)
                publishProgress()
            }
            if !due.isEmpty && !draining {
                while let i = due.popDue(now) {
                    slots[i].inHeap = false
                    attend(i, now: now)
                }
            }
            var wait: Int64 = draining ? Int64(drainUntil - now) : 10_000_000
            if !draining {
                if deadline != .max { wait = min(wait, Int64(deadline - now)) }
                if let next = due.nextTime { wait = min(wait, next > now ? Int64(next - now) : 0) }
            }
            let n = events.withUnsafeMutableBufferPointer {
                cposix_epoll_wait_ns(epfd, $0.baseAddress, Int32($0.count), max(wait, 0))
            }
            if n <= 0 { continue }
            for e in 0..<Int(n) {
                handle(Int(events[e].data.u64), flags: events[e].events)
            }
        }
        // Whatever is still in flight at the end and already older than the
        // timeout did time out; younger requests were cut off by the end of the run.
        let end = Clock.monotonicNanos()
        for i in 0..<slotCount where slots[i].pendCount > 0 {
            let oldest =
                slots[i].http2 ? (h2Sessions[i]?.oldestSentAt ?? end) : pendSent[i * depth + Int(slots[i].pendHead)]
            if end - oldest >= timeoutNanos { errors.timeout += 1 }
        }
        timeline.finish()
    }

    private func anyBusy() -> Bool {
        for i in 0..<slotCount where slots[i].busy { return true }
        return false
    }

    private func cannotConnect() -> Bool {
        var any = false
        for i in 0..<slotCount where slots[i].state != .parked && slots[i].state != .finished {
            if slots[i].connectFailures < 3 { return false }
            any = true
        }
        return any
    }

    private func allFinished() -> Bool {
        for i in 0..<slotCount where slots[i].state != .finished && slots[i].state != .parked { return false }
        return true
    }

    /// A connection's turn came in the schedule: connect it, or send what is due.
    private func attend(_ i: Int, now: UInt64) {
        switch slots[i].state {
        case .waiting: open(i, now: now)
        case .open: fill(i, now: now)
        default: break
        }
    }

    private func sweep(now: UInt64, timeoutNanos: UInt64) {
        if !draining { applyProfile(now: now) }
        for i in 0..<slotCount {
            switch slots[i].state {
            case .waiting where !draining && !slots[i].inHeap && now >= slots[i].reconnectAt:
                open(i, now: now)
            case .open where slots[i].pendCount > 0:
                let oldest =
                    slots[i].http2 ? (h2Sessions[i]?.oldestSentAt ?? now) : pendSent[i * depth + Int(slots[i].pendHead)]
                if now - oldest >= timeoutNanos {
                    errors.timeout += 1
                    timeline.recordError()
                    drop(i, now: now)
                }
            case .connecting, .handshaking:
                if now - slots[i].connectStartedAt >= timeoutNanos {
                    connectFailed(i, now: now)
                }
            default:
                break
            }
        }
    }

    /// Activates or parks connections to follow the profile.
    private func applyProfile(now: UInt64) {
        let elapsed = Double(now - startedAt) / 1e9
        let target = options.profile.active(at: elapsed, total: options.connections)
        activeTarget = target
        for i in 0..<slotCount {
            let wanted = globalIndex(i) < target
            if wanted && slots[i].state == .parked {
                activeCount += 1
                if openLoop { slots[i].nextDue = firstDue(i, now: now) }
                slots[i].state = .waiting
                if !options.keepAlive && openLoop {
                    schedule(i, at: slots[i].nextDue)
                } else {
                    open(i, now: now)
                }
            } else if !wanted && slots[i].state != .parked && slots[i].state != .finished && !slots[i].busy {
                park(i)
            }
        }
        timeline.noteActive(activeCount)
    }

    /// The profile no longer wants this connection: close it (once idle).
    func park(_ i: Int) {
        activeCount -= 1
        closeSocket(i)
        slots[i].state = .parked
    }

    func schedule(_ i: Int, at time: UInt64) {
        guard !slots[i].inHeap else { return }
        slots[i].inHeap = true
        due.push(time, i)
    }

    /// No more requests on this connection in this run.
    func finish(_ i: Int) {
        switch slots[i].state {
        case .parked, .finished:
            return
        case .waiting, .connecting, .handshaking, .open:
            if slots[i].pendCount > 0 { return }
            closeSocket(i)
            slots[i].state = .finished
        }
    }
}

/// Hands a worker to its thread; the thread is joined before the worker is read again.
final class UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
