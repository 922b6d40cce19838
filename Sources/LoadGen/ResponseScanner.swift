/// Reads HTTP/1.1 answers out of a connection's buffer as bytes arrive,
/// asking only what the load generator needs: the status, where the message
/// ends (RFC 9112 §6.3), and whether the server closes afterwards.
///
///     status-line = HTTP-version SP status-code SP [ reason-phrase ]
///     chunked-body = *chunk last-chunk trailer-section CRLF
enum ResponseScanner {
    enum Step {
        case needMore
        case complete
        case malformed
    }

    /// Advances `slot` over `slot.buffer[0..<slot.used]`, dropping what it has
    /// consumed. `sample` collects head and body when the answer is sampled.
    static func scan(_ slot: inout ConnectionSlot, capacity: Int, headOut: inout [UInt8], bodyOut: inout [UInt8])
        -> Step
    {
        let buffer = slot.buffer
        var pos = 0
        let used = Int(slot.used)
        defer {
            if pos > 0 {
                let left = used - pos
                if left > 0 { (buffer).update(from: buffer + pos, count: left) }
                slot.used = Int32(left)
                slot.scanFrom = max(0, slot.scanFrom - Int32(pos))
            }
        }
        while true {
            switch slot.phase {
            case .head:
                guard let end = findHeadEnd(buffer, from: max(Int(slot.scanFrom), pos), to: used) else {
                    slot.scanFrom = Int32(max(pos, used - 3))
                    return used >= capacity ? .malformed : .needMore
                }
                guard let head = parseHead(buffer + pos, length: end - pos) else { return .malformed }
                if slot.sampling { headOut = Array(UnsafeBufferPointer(start: buffer + pos, count: end - pos)) }
                pos = end + 4
                slot.scanFrom = Int32(pos)
                slot.status = Int32(head.status)
                slot.closeAfter = head.close
                if head.status >= 100 && head.status < 200 {
                    // An interim answer (100 Continue): the real one follows.
                    continue
                }
                if slot.noBody || head.status == 204 || head.status == 304 {
                    return .complete
                } else if head.chunked {
                    slot.phase = .chunkSize
                } else if let length = head.contentLength {
                    if length == 0 { return .complete }
                    slot.remaining = Int64(length)
                    slot.phase = .body
                } else {
                    slot.phase = .untilClose
                    slot.closeAfter = true
                }
            case .body, .chunkData:
                let take = min(Int(slot.remaining), used - pos)
                if slot.sampling && take > 0 {
                    bodyOut.append(contentsOf: UnsafeBufferPointer(start: buffer + pos, count: take))
                }
                pos += take
                slot.remaining -= Int64(take)
                if slot.remaining > 0 { return .needMore }
                if slot.phase == .body {
                    slot.phase = .head
                    return .complete
                }
                slot.phase = .chunkEnd
            case .chunkEnd:
                guard used - pos >= 2 else { return .needMore }
                guard buffer[pos] == 13 && buffer[pos + 1] == 10 else { return .malformed }
                pos += 2
                slot.phase = .chunkSize
            case .chunkSize:
                guard let lineEnd = findLineEnd(buffer, from: pos, to: used) else {
                    return used - pos > 1024 ? .malformed : .needMore
                }
                var size: Int64 = 0
                var digits = 0
                var i = pos
                while i < lineEnd, let v = hexValue(buffer[i]) {
                    size = size << 4 | Int64(v)
                    digits += 1
                    i += 1
                    if digits > 15 { return .malformed }
                }
                guard digits > 0 else { return .malformed }
                pos = lineEnd + 2
                if size == 0 {
                    slot.phase = .trailers
                } else {
                    slot.remaining = size
                    slot.phase = .chunkData
                }
            case .trailers:
                guard let lineEnd = findLineEnd(buffer, from: pos, to: used) else {
                    return used - pos > capacity / 2 ? .malformed : .needMore
                }
                let empty = lineEnd == pos
                pos = lineEnd + 2
                if empty {
                    slot.phase = .head
                    return .complete
                }
            case .untilClose:
                if slot.sampling && used > pos {
                    bodyOut.append(contentsOf: UnsafeBufferPointer(start: buffer + pos, count: used - pos))
                }
                pos = used
                return .needMore
            }
        }
    }

    struct Head {
        var status: Int
        var contentLength: Int?
        var chunked: Bool
        var close: Bool
    }

    static func parseHead(_ p: UnsafeMutablePointer<UInt8>, length: Int) -> Head? {
        // "HTTP/1.x SSS"
        guard length >= 12, p[0] == 72, p[1] == 84, p[2] == 84, p[3] == 80, p[4] == 47, p[5] == 49, p[6] == 46,
            p[8] == 32, isDigit(p[9]), isDigit(p[10]), isDigit(p[11])
        else { return nil }
        let status = Int(p[9] - 48) * 100 + Int(p[10] - 48) * 10 + Int(p[11] - 48)
        var head = Head(status: status, contentLength: nil, chunked: false, close: p[7] == 48)
        var i = 0
        while i < length && p[i] != 10 { i += 1 }
        i += 1
        while i < length {
            let lineStart = i
            while i < length && p[i] != 10 { i += 1 }
            var lineEnd = i
            if lineEnd > lineStart && p[lineEnd - 1] == 13 { lineEnd -= 1 }
            i += 1
            let first = p[lineStart] | 0x20
            guard first == 99 || first == 116 else { continue }  // 'c' or 't'
            var colon = lineStart
            while colon < lineEnd && p[colon] != 58 { colon += 1 }
            guard colon < lineEnd else { return nil }
            var v = colon + 1
            while v < lineEnd && (p[v] == 32 || p[v] == 9) { v += 1 }
            let nameLength = colon - lineStart
            if nameLength == 14 && equalsLower(p + lineStart, "content-length") {
                var value = 0
                var digits = 0
                while v < lineEnd && isDigit(p[v]) {
                    value = value * 10 + Int(p[v] - 48)
                    digits += 1
                    v += 1
                    if digits > 15 { return nil }
                }
                guard digits > 0 else { return nil }
                if let existing = head.contentLength, existing != value { return nil }
                head.contentLength = value
            } else if nameLength == 17 && equalsLower(p + lineStart, "transfer-encoding") {
                head.chunked = containsLower(p + v, lineEnd - v, "chunked")
            } else if nameLength == 10 && equalsLower(p + lineStart, "connection") {
                if containsLower(p + v, lineEnd - v, "close") { head.close = true }
                if containsLower(p + v, lineEnd - v, "keep-alive") { head.close = false }
            }
        }
        return head
    }

    @inline(__always)
    static func findHeadEnd(_ p: UnsafeMutablePointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        while i + 3 < to {
            if p[i + 3] != 10 {
                // The last byte of CRLFCRLF is LF; skip ahead by how far the next LF could be.
                i += p[i + 3] == 13 ? 1 : 4
                continue
            }
            if p[i] == 13 && p[i + 1] == 10 && p[i + 2] == 13 { return i }
            i += 1
        }
        return nil
    }

    @inline(__always)
    static func findLineEnd(_ p: UnsafeMutablePointer<UInt8>, from: Int, to: Int) -> Int? {
        var i = from
        while i + 1 < to {
            if p[i] == 13 && p[i + 1] == 10 { return i }
            i += 1
        }
        return nil
    }

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }

    @inline(__always) static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 97...102: return b - 87
        case 65...70: return b - 55
        default: return nil
        }
    }

    static func equalsLower(_ p: UnsafeMutablePointer<UInt8>, _ word: StaticString) -> Bool {
        let w = word.utf8Start
        for i in 0..<word.utf8CodeUnitCount where (p[i] | 0x20) != w[i] && p[i] != w[i] { return false }
        return true
    }

    static func containsLower(_ p: UnsafeMutablePointer<UInt8>, _ count: Int, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard count >= n else { return false }
        for start in 0...(count - n) where equalsLower(p + start, word) { return true }
        return false
    }
}
