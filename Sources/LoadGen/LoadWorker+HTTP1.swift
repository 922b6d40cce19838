import Posix
#if canImport(Glibc)
    import Glibc
#endif

extension LoadWorker {
    /// Sends requests on an open connection up to the pipeline depth — in open
    /// loop only those whose intended time has come.
    @inline(__always)
    func fill(_ i: Int, now: UInt64) {
        guard !draining, slots[i].state == .open else { return }
        if globalIndex(i) >= activeTarget {
            if slots[i].pendCount == 0 { park(i) }
            return
        }
        if slots[i].http2 {
            fillHTTP2(i, now: now)
            return
        }
        // Without keep-alive, a connection carries one request.
        if !options.keepAlive && slots[i].pendCount > 0 { return }
        let firstNew = slots[i].pendCount
        while Int(slots[i].pendCount) < depth {
            var intended = now
            if openLoop {
                // Nothing is due from the end of the duration on (see `countUnsent`).
                guard slots[i].nextDue <= now && slots[i].nextDue < scheduleEnd else {
                    schedule(i, at: slots[i].nextDue)
                    break
                }
                intended = slots[i].nextDue
                slots[i].nextDue &+= intervalNanos
            }
            if options.keepAlive, let budget, budget.loadThenWrappingDecrement(ordering: .relaxed) <= 0 {
                if slots[i].pendCount == 0 { finish(i) }
                break
            }
            let variant = nextVariant
            nextVariant += 1
            if nextVariant == variantCount { nextVariant = 0 }
            let k = i * depth + Int((slots[i].pendHead + slots[i].pendCount) % Int32(depth))
            pendVariant[k] = Int32(variant)
            // Without keep-alive the latency includes opening the connection.
            pendSent[k] = options.keepAlive ? now : slots[i].connectStartedAt
            pendIntended[k] = options.keepAlive ? intended : min(intended, slots[i].connectStartedAt)
            slots[i].pendCount += 1
            sent += 1
            if !options.keepAlive { break }
        }
        if firstNew == 0 && slots[i].pendCount > 0 { prepareAnswer(i) }
        if slots[i].pendCount > firstNew { flushWrites(i) }
    }

    /// Writes the requests not yet written: their pieces (head, body segments)
    /// in one `writev`, several requests at once when pipelining.
    @inline(__always)
    func flushWrites(_ i: Int) {
        let table = h1Table
        while slots[i].written < slots[i].pendCount {
            var count = 0
            var entry = slots[i].written
            var skip = Int(slots[i].writeOffset)
            var attempted = 0
            gathering: while entry < slots[i].pendCount {
                let k = i * depth + Int((slots[i].pendHead + entry) % Int32(depth))
                let variant = Int(pendVariant[k])
                let first = table.firstPiece[variant]
                for p in first..<(first + table.pieceCount[variant]) {
                    let piece = table.pieces[p]
                    if skip >= piece.count {
                        skip -= piece.count
                        continue
                    }
                    if count == iovCapacity { break gathering }
                    iov[count] = iovec(iov_base: piece.base + skip, iov_len: piece.count - skip)
                    attempted += piece.count - skip
                    skip = 0
                    count += 1
                }
                entry += 1
            }
            var n: Int
            if slots[i].ssl != nil {
                (n, attempted) = sendTLS(i, count: count)
            } else if count == 1 {
                n = transportSend(i, iov[0].iov_base, iov[0].iov_len)
            } else {
                n = writev(slots[i].fd, iov, Int32(count))
                if n < 0 { n = errno == EAGAIN || errno == EINTR ? IO.wouldBlock : IO.failed }
            }
            if n == IO.wouldBlock { return }  // EPOLLOUT will come
            if n < 0 {
                errors.write += 1
                timeline.recordError()
                drop(i, now: Clock.monotonicNanos())
                return
            }
            // Advance over what went out.
            var left = n
            while left > 0 {
                let k = i * depth + Int((slots[i].pendHead + slots[i].written) % Int32(depth))
                let rest = table.lengths[Int(pendVariant[k])] - Int(slots[i].writeOffset)
                if left >= rest {
                    left -= rest
                    slots[i].written += 1
                    slots[i].writeOffset = 0
                } else {
                    slots[i].writeOffset += Int32(left)
                    left = 0
                }
            }
            // A short write on a socket means its buffer is full; OpenSSL writes
            // a record at a time, so TLS tries again until it says it would block.
            if n < attempted && slots[i].ssl == nil { return }
        }
    }

    /// TLS has no writev: the first piece goes out as it is when it fills a
    /// record, else small pieces are gathered into one record. Returns the
    /// bytes written (or `IO`'s codes) and the bytes tried.
    @inline(__always)
    private func sendTLS(_ i: Int, count: Int) -> (Int, Int) {
        if count == 1 || iov[0].iov_len >= Self.gatherLimit {
            return (transportSend(i, iov[0].iov_base, iov[0].iov_len), iov[0].iov_len)
        }
        gather.removeAll(keepingCapacity: true)
        for c in 0..<count where gather.count < Self.gatherLimit {
            let take = min(iov[c].iov_len, Self.gatherLimit - gather.count)
            gather.append(contentsOf: UnsafeRawBufferPointer(start: iov[c].iov_base, count: take))
        }
        return (gather.withUnsafeBytes { transportSend(i, $0.baseAddress!, $0.count) }, gather.count)
    }

    /// Sets up the scanner for the answer at the head of the FIFO.
    @inline(__always)
    func prepareAnswer(_ i: Int) {
        let k = i * depth + Int(slots[i].pendHead)
        let variant = Int(pendVariant[k])
        slots[i].noBody = isHead[variant]
        guard options.verifyEvery > 0 else { return }
        sinceSample += 1
        if sinceSample >= options.verifyEvery && samplingSlot < 0 && options.requests[variant].check != nil {
            sinceSample = 0
            samplingSlot = i
            slots[i].sampling = true
            sampleHead.removeAll(keepingCapacity: true)
            sampleBody.removeAll(keepingCapacity: true)
        }
    }

    @inline(__always)
    func read(_ i: Int) {
        while true {
            let used = Int(slots[i].used)
            let space = Self.bufferCapacity - used
            let n = transportReceive(i, slots[i].buffer + used, space)
            if n > 0 {
                if slots[i].http2 {
                    guard receiveHTTP2(i, slots[i].buffer, n) else { return }
                    if n < space && slots[i].ssl == nil { return }
                    continue
                }
                bytesRead += UInt64(n)
                slots[i].used += Int32(n)
                guard scanAnswers(i) else { return }
                // A short read means a plain socket is drained (stream socket,
                // edge-triggered); OpenSSL may hold more, so TLS reads to the end.
                if n < space && slots[i].ssl == nil { return }
            } else if n == 0 {
                let now = Clock.monotonicNanos()
                if slots[i].pendCount > 0 && slots[i].phase == .untilClose {
                    answered(i, now: now)
                    closeAfterAnswer(i, now: now)
                } else if slots[i].pendCount > 0 || slots[i].used > 0 {
                    errors.read += 1
                    timeline.recordError()
                    drop(i, now: now)
                } else {
                    // The server closed an idle keep-alive connection: open another.
                    closeAfterAnswer(i, now: now)
                }
                return
            } else if n == IO.wouldBlock {
                return
            } else {
                errors.read += 1
                timeline.recordError()
                drop(i, now: Clock.monotonicNanos())
                return
            }
        }
    }

    /// Takes every complete answer out of the buffer; false when the connection ended.
    @inline(__always)
    private func scanAnswers(_ i: Int) -> Bool {
        while slots[i].used > 0 {
            if slots[i].pendCount == 0 {
                // Bytes nobody asked for: the server is out of step.
                errors.badResponse += 1
                timeline.recordError()
                drop(i, now: Clock.monotonicNanos())
                return false
            }
            switch ResponseScanner.scan(
                &slots[i], capacity: Self.bufferCapacity, headOut: &sampleHead, bodyOut: &sampleBody)
            {
            case .needMore:
                return true
            case .malformed:
                errors.badResponse += 1
                timeline.recordError()
                drop(i, now: Clock.monotonicNanos())
                return false
            case .complete:
                let now = Clock.monotonicNanos()
                answered(i, now: now)
                if slots[i].closeAfter || !options.keepAlive {
                    if slots[i].pendCount > 0 {
                        // Requests pipelined behind an answer that closes are lost.
                        errors.read += 1
                        timeline.recordError()
                    }
                    closeAfterAnswer(i, now: now)
                    return false
                }
                if slots[i].pendCount > 0 { prepareAnswer(i) }
                fill(i, now: now)
                if slots[i].state != .open { return false }
            }
        }
        return true
    }

    /// Records the answer at the head of the FIFO and removes it.
    @inline(__always)
    func answered(_ i: Int, now: UInt64) {
        let k = i * depth + Int(slots[i].pendHead)
        let variant = Int(pendVariant[k])
        let intended = pendIntended[k]
        let latency = now &- intended
        _ = histogram.record(min(latency, 60_000_000_000))
        if openLoop { _ = uncorrected?.record(min(now &- pendSent[k], 60_000_000_000)) }
        timeline.record(latency: latency)
        slots[i].pendHead = (slots[i].pendHead + 1) % Int32(depth)
        slots[i].pendCount -= 1
        if slots[i].written > 0 {
            slots[i].written -= 1
        } else {
            // Answered before it was fully sent (an early error answer): drop the rest.
            slots[i].writeOffset = 0
        }
        completed += 1
        lastAnswerAt = now
        let status = Int(slots[i].status)
        if status < 600 { statusCounts[status] += 1 }
        let sampled = slots[i].sampling
        if sampled {
            slots[i].sampling = false
            samplingSlot = -1
        }
        judge(variant: variant, status: status, sampled: sampled, head: sampleHead, body: sampleBody)
    }

    /// Counts an answer as wrong when its status is not the one expected, or
    /// when it was sampled and fails the request's full check.
    @inline(__always)
    func judge(variant: Int, status: Int, sampled: Bool, head: [UInt8], body: [UInt8]) {
        let want = expected[variant]
        if want != 0 && Int32(status) != want {
            wrongAnswers += 1
            if wrongExamples.count < 5 {
                wrongExamples.append("request #\(variant) got status \(status), expected \(want)")
            }
            return
        }
        if sampled, let check = options.requests[variant].check {
            verified += 1
            if let problem = check(SampledResponse(status: status, head: head, body: body)) {
                wrongAnswers += 1
                if wrongExamples.count < 5 { wrongExamples.append(problem) }
            }
        }
    }
}
