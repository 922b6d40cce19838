import CNghttp2
import Posix
#if canImport(Glibc)
    import Glibc
#endif

/// HTTP/2 connections: requests are streams of an nghttp2 client session,
/// up to `maxStreams` in flight per connection (h2load's -m), completing in
/// any order. Bytes move as for HTTP/1.1: one read feeds the session, and what
/// it has to send goes out in as few writes as the socket takes.
extension LoadWorker {
    /// Sets up the session on a connection that speaks HTTP/2.
    func startHTTP2(_ i: Int, now: UInt64) -> Bool {
        guard let table = h2Table else { return false }
        do {
            h2Sessions[i] = try H2Session(worker: self, slot: i, maxStreams: options.maxStreams, table: table)
        } catch {
            noteTLSFailure("\(error)")
            return false
        }
        slots[i].http2 = true
        return true
    }

    @inline(__always)
    func fillHTTP2(_ i: Int, now: UInt64) {
        guard let h2 = h2Sessions[i] else { return }
        var submitted = false
        while h2.active < options.maxStreams && !h2.goaway {
            var intended = now
            if openLoop {
                guard slots[i].nextDue <= now && slots[i].nextDue < scheduleEnd else {
                    schedule(i, at: slots[i].nextDue)
                    break
                }
                intended = slots[i].nextDue
                slots[i].nextDue &+= intervalNanos
            }
            if let budget, budget.loadThenWrappingDecrement(ordering: .relaxed) <= 0 {
                if h2.active == 0 { finish(i) }
                break
            }
            let variant = nextVariant
            nextVariant += 1
            if nextVariant == variantCount { nextVariant = 0 }
            var sampling = false
            if options.verifyEvery > 0 {
                sinceSample += 1
                if sinceSample >= options.verifyEvery && options.requests[variant].check != nil {
                    sinceSample = 0
                    sampling = true
                }
            }
            guard h2.submit(variant: variant, now: now, intended: intended, sampling: sampling) else {
                errors.write += 1
                timeline.recordError()
                drop(i, now: now)
                return
            }
            sent += 1
            submitted = true
        }
        slots[i].pendCount = Int32(h2.active)
        if submitted { flushHTTP2(i) }
    }

    /// Writes what the session has to send: frames are gathered into one
    /// buffer first, so that a batch of new streams costs one write (nghttp2
    /// hands out about a frame per call).
    @inline(__always)
    func flushHTTP2(_ i: Int) {
        guard let h2 = h2Sessions[i] else { return }
        while true {
            while h2.pending.count < 65536 {
                var data: UnsafePointer<UInt8>?
                let produced = nghttp2_session_mem_send(h2.session, &data)
                if produced < 0 {
                    failWrite(i)
                    return
                }
                if produced == 0 { break }
                h2.pending.append(contentsOf: UnsafeBufferPointer(start: data, count: produced))
            }
            if h2.pending.isEmpty { return }
            let n = h2.pending.withUnsafeBytes { transportSend(i, $0.baseAddress!, $0.count) }
            if n == IO.wouldBlock { return }  // EPOLLOUT will come
            if n < 0 {
                failWrite(i)
                return
            }
            if n < h2.pending.count {
                h2.pending.removeFirst(n)
                // A short write on a socket means its buffer is full; OpenSSL
                // writes a record at a time, so TLS goes on until it would block.
                if slots[i].ssl == nil { return }
                continue
            }
            h2.pending.removeAll(keepingCapacity: true)
        }
    }

    private func failWrite(_ i: Int) {
        errors.write += 1
        timeline.recordError()
        drop(i, now: Clock.monotonicNanos())
    }

    /// Feeds received bytes to the session and takes the streams that finished.
    @inline(__always)
    func receiveHTTP2(_ i: Int, _ bytes: UnsafeMutablePointer<UInt8>, _ count: Int) -> Bool {
        guard let h2 = h2Sessions[i] else { return false }
        let consumed = nghttp2_session_mem_recv(h2.session, bytes, count)
        let now = Clock.monotonicNanos()
        for (entry, ok) in h2.completed {
            answeredHTTP2(i, h2, entry: entry, ok: ok, now: now)
        }
        h2.completed.removeAll(keepingCapacity: true)
        if consumed < 0 {
            // A protocol error: nghttp2 has queued a GOAWAY; the connection ends.
            errors.badResponse += 1
            timeline.recordError()
            flushHTTP2(i)
            drop(i, now: now)
            return false
        }
        if h2.goaway && h2.active == 0 {
            closeAfterAnswer(i, now: now)
            return false
        }
        fill(i, now: now)  // checks the end of the run and the profile first
        guard slots[i].state == .open else { return false }
        flushHTTP2(i)
        return slots[i].state == .open
    }

    @inline(__always)
    private func answeredHTTP2(_ i: Int, _ h2: H2Session, entry: Int32, ok: Bool, now: UInt64) {
        let stream = h2.release(entry)
        slots[i].pendCount = Int32(h2.active)
        guard ok, stream.status > 0 else {
            // Reset by the server, or closed without an answer.
            errors.badResponse += 1
            timeline.recordError()
            return
        }
        let latency = now &- stream.intended
        _ = histogram.record(min(latency, 60_000_000_000))
        if openLoop { _ = uncorrected?.record(min(now &- stream.sentAt, 60_000_000_000)) }
        timeline.record(latency: latency)
        completed += 1
        lastAnswerAt = now
        let status = Int(stream.status)
        if status < 600 { statusCounts[status] += 1 }
        let variant = Int(stream.variant)
        judge(variant: variant, status: status, sampled: stream.sampling, head: stream.head, body: stream.body)
    }
}
