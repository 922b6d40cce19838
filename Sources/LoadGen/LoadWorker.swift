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
/// `epoll_ctl` per request. Requests are pre-encoded in one block; answers are
/// scanned in place in a fixed buffer per connection.
final class LoadWorker {
    static let bufferCapacity = 16 * 1024

    private let options: LoadOptions
    private let index: Int
    private let budget: ManagedAtomic<Int>?
    private let epfd: Int32
    private let slots: UnsafeMutablePointer<ConnectionSlot>
    private let slotCount: Int
    private let buffers: UnsafeMutablePointer<UInt8>
    private let requestBytes: UnsafeMutablePointer<UInt8>
    private let requestOffsets: [Int]
    private let requestLengths: [Int]
    private let expected: [Int32]
    private let isHead: [Bool]
    private var nextVariant: Int

    // Results, merged by the generator after the thread ends.
    var histogram = LoadResult.makeHistogram()
    var statusCounts = [UInt64](repeating: 0, count: 600)
    var errors = ErrorCounts()
    var completed: UInt64 = 0
    var sent: UInt64 = 0
    var wrongAnswers: UInt64 = 0
    var wrongExamples: [String] = []
    var verified: UInt64 = 0
    var bytesRead: UInt64 = 0
    var connectionsOpened: UInt64 = 0
    var startedAt: UInt64 = 0
    var lastAnswerAt: UInt64 = 0
    var cpuNanos: UInt64 = 0
    var interrupted = false

    private var sampleHead: [UInt8] = []
    private var sampleBody: [UInt8] = []
    private var sinceSample = 0
    /// The connection whose answer is being kept for a check, or -1: one at a
    /// time, since the sample buffers are the thread's.
    private var samplingSlot = -1

    init(options: LoadOptions, index: Int, connections: Int, budget: ManagedAtomic<Int>?) {
        self.options = options
        self.index = index
        self.budget = budget
        slotCount = connections
        epfd = epoll_create1(Int32(EPOLL_CLOEXEC))
        buffers = .allocate(capacity: connections * Self.bufferCapacity)
        slots = .allocate(capacity: connections)
        for i in 0..<connections {
            (slots + i).initialize(to: ConnectionSlot(buffer: buffers + i * Self.bufferCapacity))
        }
        var offsets: [Int] = []
        var lengths: [Int] = []
        var total = 0
        for request in options.requests {
            offsets.append(total)
            lengths.append(request.bytes.count)
            total += request.bytes.count
        }
        let block = UnsafeMutablePointer<UInt8>.allocate(capacity: max(total, 1))
        for (i, request) in options.requests.enumerated() {
            request.bytes.withUnsafeBufferPointer { (block + offsets[i]).update(from: $0.baseAddress!, count: $0.count) }
        }
        requestBytes = block
        requestOffsets = offsets
        requestLengths = lengths
        expected = options.requests.map { Int32($0.expectedStatus) }
        isHead = options.requests.map(\.isHead)
        // Threads start at different points of the variant list.
        nextVariant = (index * 7919) % options.requests.count
    }

    deinit {
        for i in 0..<slotCount where slots[i].fd >= 0 { close(slots[i].fd) }
        slots.deinitialize(count: slotCount)
        slots.deallocate()
        buffers.deallocate()
        requestBytes.deallocate()
        close(epfd)
    }

    func run(startAt: UInt64) {
        let cpuStart = Clock.threadCPUNanos()
        defer { cpuNanos = Clock.threadCPUNanos() - cpuStart }
        startedAt = startAt
        lastAnswerAt = startAt
        let deadline = options.duration.map { startAt + UInt64($0 * 1e9) } ?? UInt64.max
        let timeoutNanos = UInt64(options.timeout * 1e9)
        var draining = false
        var drainUntil: UInt64 = 0
        for i in 0..<slotCount { connect(i, now: startAt) }

        var events = [epoll_event](repeating: epoll_event(), count: 256)
        var lastSweep = startAt
        while true {
            let now = Clock.monotonicNanos()
            if options.stop?.load(ordering: .relaxed) == true {
                interrupted = true
                break
            }
            if !draining && now >= deadline {
                draining = true
                drainUntil = now + min(timeoutNanos, 2_000_000_000)
                for i in 0..<slotCount where !slots[i].inFlight { finish(i) }
            }
            if draining && (now >= drainUntil || !anyInFlight()) { break }
            if !draining && budget != nil && allFinished() { break }
            if now - lastSweep >= 10_000_000 {
                lastSweep = now
                sweep(now: now, timeoutNanos: timeoutNanos, draining: draining)
            }
            var wait = draining ? Int32(min(drainUntil - now, 10_000_000) / 1_000_000) : 10
            if !draining && deadline != .max { wait = Int32(min(UInt64(wait), (deadline - now) / 1_000_000)) }
            let n = events.withUnsafeMutableBufferPointer { epoll_wait(epfd, $0.baseAddress, Int32($0.count), max(wait, 0)) }
            if n <= 0 { continue }
            for e in 0..<Int(n) {
                let i = Int(events[e].data.u64)
                let flags = events[e].events
                handle(i, flags: flags, draining: draining)
            }
        }
        // Whatever is still in flight at the end and already older than the
        // timeout did time out; younger requests were cut off by the end of the run.
        let end = Clock.monotonicNanos()
        for i in 0..<slotCount where slots[i].inFlight && end - slots[i].sentAt >= timeoutNanos {
            errors.timeout += 1
        }
    }

    private func anyInFlight() -> Bool {
        for i in 0..<slotCount where slots[i].inFlight || slots[i].state == .connecting { return true }
        return false
    }

    private func allFinished() -> Bool {
        for i in 0..<slotCount where slots[i].state != .finished { return false }
        return true
    }

    // MARK: connections

    private func connect(_ i: Int, now: UInt64) {
        let address = options.address
        let fd = socket(address.domain, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            connectFailed(i, now: now)
            return
        }
        Socket.setNoDelay(fd)
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS {
            close(fd)
            connectFailed(i, now: now)
            return
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = UInt64(i)
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event)
        connectionsOpened += 1
        slots[i].fd = fd
        slots[i].used = 0
        slots[i].scanFrom = 0
        slots[i].phase = .head
        slots[i].state = rc == 0 ? .idle : .connecting
        if rc == 0 { sendNext(i) }
    }

    private func connectFailed(_ i: Int, now: UInt64) {
        errors.connect += 1
        slots[i].connectFailures += 1
        // Back off (10 ms doubling to 500 ms) so a dead server is not hammered.
        let delay = min(UInt64(10_000_000) << min(UInt64(slots[i].connectFailures - 1), 6), 500_000_000)
        slots[i].state = .closed
        slots[i].reconnectAt = now + delay
    }

    private func drop(_ i: Int) {
        if samplingSlot == i {
            samplingSlot = -1
            slots[i].sampling = false
        }
        if slots[i].fd >= 0 {
            close(slots[i].fd)  // closing removes it from the epoll set
            slots[i].fd = -1
        }
        slots[i].state = .closed
        slots[i].reconnectAt = 0
    }

    private func finish(_ i: Int) {
        if slots[i].state == .closed || slots[i].state == .connecting {
            drop(i)
        }
        if slots[i].state != .idle && slots[i].state != .closed { return }
        slots[i].state = .finished
    }

    private func sweep(now: UInt64, timeoutNanos: UInt64, draining: Bool) {
        for i in 0..<slotCount {
            switch slots[i].state {
            case .closed where !draining && now >= slots[i].reconnectAt:
                connect(i, now: now)
            case .writing, .reading:
                if now - slots[i].sentAt >= timeoutNanos {
                    errors.timeout += 1
                    drop(i)
                    if draining { slots[i].state = .finished }
                }
            case .connecting:
                if now - slots[i].sentAt >= timeoutNanos && slots[i].sentAt != 0 {
                    errors.connect += 1
                    drop(i)
                }
            default:
                break
            }
        }
    }

    // MARK: events

    @inline(__always)
    private func handle(_ i: Int, flags: UInt32, draining: Bool) {
        switch slots[i].state {
        case .connecting:
            guard flags & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 else { return }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(slots[i].fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error != 0 {
                close(slots[i].fd)
                slots[i].fd = -1
                connectFailed(i, now: Clock.monotonicNanos())
                return
            }
            slots[i].connectFailures = 0
            slots[i].state = .idle
            if draining { finish(i) } else { sendNext(i) }
        case .writing:
            if flags & EPOLLOUT.rawValue != 0 { continueWrite(i) }
            if slots[i].state == .reading && flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                read(i, draining: draining)
            }
        case .reading:
            if flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                read(i, draining: draining)
            }
        case .idle, .finished:
            // The server closed an idle connection (or sent something unasked).
            if flags & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
                let wasFinished = slots[i].state == .finished
                drop(i)
                if wasFinished { slots[i].state = .finished }
            }
        case .closed:
            break
        }
    }

    @inline(__always)
    private func sendNext(_ i: Int) {
        if let budget, budget.loadThenWrappingDecrement(ordering: .relaxed) <= 0 {
            slots[i].state = .finished
            return
        }
        let variant = nextVariant
        nextVariant += 1
        if nextVariant == requestOffsets.count { nextVariant = 0 }
        slots[i].variant = Int32(variant)
        slots[i].noBody = isHead[variant]
        slots[i].writeOffset = 0
        slots[i].sentAt = Clock.monotonicNanos()
        if options.verifyEvery > 0 {
            sinceSample += 1
            slots[i].sampling = sinceSample >= options.verifyEvery && samplingSlot < 0 && options.requests[variant].check != nil
            if slots[i].sampling {
                sinceSample = 0
                samplingSlot = i
                sampleHead.removeAll(keepingCapacity: true)
                sampleBody.removeAll(keepingCapacity: true)
            }
        }
        sent += 1
        slots[i].state = .writing
        continueWrite(i)
    }

    @inline(__always)
    private func continueWrite(_ i: Int) {
        let variant = Int(slots[i].variant)
        let offset = Int(slots[i].writeOffset)
        let length = requestLengths[variant]
        let n = send(slots[i].fd, requestBytes + requestOffsets[variant] + offset, length - offset, Int32(MSG_NOSIGNAL))
        if n == length - offset {
            slots[i].state = .reading
        } else if n >= 0 {
            slots[i].writeOffset += Int32(n)
        } else if errno != EAGAIN && errno != EINTR {
            errors.write += 1
            drop(i)
        }
    }

    @inline(__always)
    private func read(_ i: Int, draining: Bool) {
        while true {
            let used = Int(slots[i].used)
            let space = Self.bufferCapacity - used
            let n = recv(slots[i].fd, slots[i].buffer + used, space, 0)
            if n > 0 {
                bytesRead += UInt64(n)
                slots[i].used += Int32(n)
                let step = ResponseScanner.scan(&slots[i], capacity: Self.bufferCapacity, headOut: &sampleHead, bodyOut: &sampleBody)
                switch step {
                case .needMore:
                    // A short read means the socket is drained (stream socket, edge-triggered).
                    if n < space { return }
                case .malformed:
                    errors.badResponse += 1
                    drop(i)
                    return
                case .complete:
                    answered(i)
                    if slots[i].used != 0 {
                        // Bytes beyond the one answer we asked for: the server is out of step.
                        errors.badResponse += 1
                        drop(i)
                        return
                    }
                    if slots[i].closeAfter {
                        drop(i)
                        if draining { slots[i].state = .finished } else { connect(i, now: Clock.monotonicNanos()) }
                        return
                    }
                    slots[i].state = .idle
                    if draining { finish(i) } else { sendNext(i) }
                    return
                }
            } else if n == 0 {
                if slots[i].phase == .untilClose {
                    answered(i)
                    slots[i].phase = .head
                    drop(i)
                    if draining { slots[i].state = .finished } else { connect(i, now: Clock.monotonicNanos()) }
                } else {
                    errors.read += 1
                    drop(i)
                }
                return
            } else {
                if errno == EAGAIN { return }
                if errno == EINTR { continue }
                errors.read += 1
                drop(i)
                return
            }
        }
    }

    @inline(__always)
    private func answered(_ i: Int) {
        let now = Clock.monotonicNanos()
        let latency = now - slots[i].sentAt
        _ = histogram.record(min(latency, 60_000_000_000))
        completed += 1
        lastAnswerAt = now
        let status = Int(slots[i].status)
        if status < 600 { statusCounts[status] += 1 }
        let variant = Int(slots[i].variant)
        let want = expected[variant]
        let sampled = slots[i].sampling
        if sampled {
            slots[i].sampling = false
            samplingSlot = -1
        }
        if want != 0 && Int32(status) != want {
            wrongAnswers += 1
            if wrongExamples.count < 5 {
                wrongExamples.append("request #\(variant) got status \(status), expected \(want)")
            }
            return
        }
        if sampled, let check = options.requests[variant].check {
            verified += 1
            if let problem = check(SampledResponse(status: status, head: sampleHead, body: sampleBody)) {
                wrongAnswers += 1
                if wrongExamples.count < 5 { wrongExamples.append(problem) }
            }
        }
    }
}
