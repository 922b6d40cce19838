import COpenSSL
import Posix
#if canImport(Glibc)
    import Glibc
#endif

extension LoadWorker {
    /// Opens a connection for connection slot `i`. Without keep-alive each
    /// connection carries exactly one request, so the request-count budget is
    /// taken here, before connecting, and no connection is opened in vain.
    func open(_ i: Int, now: UInt64) {
        if !options.keepAlive, let budget, budget.loadThenWrappingDecrement(ordering: .relaxed) <= 0 {
            slots[i].state = .finished
            return
        }
        connect(i, now: now)
    }

    private func connect(_ i: Int, now: UInt64) {
        let address = options.address
        slots[i].connectStartedAt = now
        let fd = socket(address.domain, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else {
            lastConnectError = String(cString: strerror(errno))
            connectFailed(i, now: now)
            return
        }
        slots[i].fd = fd
        Socket.setNoDelay(fd)
        // A client that closes after every answer would otherwise fill the
        // port range with TIME_WAIT sockets within seconds.
        if !options.keepAlive { _ = cposix_set_linger_zero(fd) }
        let rc = address.withSockAddr { Glibc.connect(fd, $0, $1) }
        if rc != 0 && errno != EINPROGRESS {
            lastConnectError = String(cString: strerror(errno))
            connectFailed(i, now: now)
            return
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLOUT.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue
        event.data.u64 = UInt64(i)
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event)
        connectionsOpened += 1
        slots[i].used = 0
        slots[i].scanFrom = 0
        slots[i].phase = .head
        slots[i].pendHead = 0
        if slots[i].http2 {
            h2Sessions[i] = nil
            slots[i].http2 = false
        }
        slots[i].pendCount = 0
        slots[i].written = 0
        slots[i].writeOffset = 0
        slots[i].state = .connecting
        if rc == 0 { tcpConnected(i, now: now) }
    }

    /// TCP is up: start TLS, or take requests at once.
    func tcpConnected(_ i: Int, now: UInt64) {
        if tls != nil {
            handshake(i, now: now)
        } else {
            connected(i, now: now)
        }
    }

    func connected(_ i: Int, now: UInt64) {
        slots[i].connectFailures = 0
        everConnected = true
        slots[i].state = .open
        let alpn = slots[i].ssl.map { TLSContext.alpnSelected($0) } ?? ""
        if (options.http2 && slots[i].ssl == nil) || alpn == "h2" {
            guard startHTTP2(i, now: now) else {
                connectFailed(i, now: now)
                return
            }
            if draining { finish(i) } else { fill(i, now: now) }
            flushHTTP2(i)  // the preface and SETTINGS go out even before the first request
            return
        }
        if draining { finish(i) } else { fill(i, now: now) }
    }

    /// Counts a failed connection attempt (TCP or TLS) and schedules the next.
    func connectFailed(_ i: Int, now: UInt64) {
        closeSocket(i)
        // The request this connection was opened for was never sent: give its ticket back.
        if !options.keepAlive { budget?.wrappingIncrement(ordering: .relaxed) }
        errors.connect += 1
        timeline.recordError()
        slots[i].connectFailures += 1
        retry(i, now: now)
    }

    /// Waits before connecting again: at once after a clean close, backing off
    /// (10 ms doubling to 500 ms) after failures so a dead server is not hammered.
    func retry(_ i: Int, now: UInt64) {
        slots[i].state = draining ? .finished : .waiting
        let failures = slots[i].connectFailures
        slots[i].reconnectAt =
            failures == 0 ? now : now + min(UInt64(10_000_000) << min(UInt64(failures - 1), 6), 500_000_000)
    }

    func closeSocket(_ i: Int) {
        if samplingSlot == i {
            samplingSlot = -1
            slots[i].sampling = false
        }
        if let ssl = slots[i].ssl {
            SSL_free(ssl)
            slots[i].ssl = nil
        }
        if slots[i].fd >= 0 {
            close(slots[i].fd)  // closing removes it from the epoll set
            slots[i].fd = -1
        }
        if slots[i].http2 {
            h2Sessions[i] = nil
            slots[i].http2 = false
        }
        slots[i].pendCount = 0
        slots[i].written = 0
        slots[i].writeOffset = 0
        slots[i].used = 0
        slots[i].phase = .head
    }

    /// Ends a failed connection; its requests in flight are lost (the error
    /// that caused it was counted), and it connects again unless the run is ending.
    func drop(_ i: Int, now: UInt64) {
        closeSocket(i)
        if globalIndex(i) >= activeTarget && !draining {
            park(i)
            return
        }
        retry(i, now: now)
        if !draining { open(i, now: now) }
    }

    /// The answer asked the connection to close (or keep-alive is off): a
    /// normal end, not an error.
    func closeAfterAnswer(_ i: Int, now: UInt64) {
        closeSocket(i)
        slots[i].connectFailures = 0
        if draining {
            slots[i].state = .finished
        } else if globalIndex(i) >= activeTarget {
            park(i)
        } else if openLoop && !options.keepAlive {
            // The next connection opens when its request is due.
            slots[i].state = .waiting
            schedule(i, at: slots[i].nextDue)
        } else {
            slots[i].state = .waiting
            open(i, now: now)
        }
    }

    @inline(__always)
    func handle(_ i: Int, flags: UInt32) {
        switch slots[i].state {
        case .connecting:
            guard flags & (EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 else { return }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(slots[i].fd, SOL_SOCKET, SO_ERROR, &error, &length)
            let now = Clock.monotonicNanos()
            if error != 0 {
                lastConnectError = String(cString: strerror(error))
                connectFailed(i, now: now)
                return
            }
            tcpConnected(i, now: now)
        case .handshaking:
            handshake(i, now: Clock.monotonicNanos())
        case .open:
            if slots[i].http2 {
                if flags & EPOLLOUT.rawValue != 0 { flushHTTP2(i) }
            } else if flags & EPOLLOUT.rawValue != 0 && slots[i].written < slots[i].pendCount {
                flushWrites(i)
            }
            if slots[i].state == .open
                && flags & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
            {
                read(i)
            }
        case .parked, .waiting, .finished:
            break
        }
    }
}
