/// The threaded stack's HTTP/1.1 request reader: it waits for a whole head,
/// then splits it into lines, as simple sync servers do (RFC 9112):
///
///     HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
///     request-line = method SP request-target SP HTTP-version
///     field-line   = field-name ":" OWS field-value OWS
struct RequestParser {
    struct Limits: Sendable {
        var maxHeadBytes = 8192
        var maxHeaders = 64
        var maxBodyBytes = 1 << 20
    }

    enum Outcome {
        case incomplete
        case request(ParsedRequest, consumed: Int)
        case error(status: Int)
    }

    struct ParsedRequest {
        var method: String
        var target: String
        var versionMinor: Int
        var headers: [(name: String, value: String)]
        var body: [UInt8]
        var keepAlive: Bool
    }

    let limits: Limits

    func parse(_ buffer: [UInt8]) -> Outcome {
        var start = 0
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line (CRLF or a bare LF)
        // received before the request-line.
        while start < 32 && start < buffer.count {
            if buffer[start] == 10 {
                start += 1
            } else if buffer[start] == 13, start + 1 < buffer.count, buffer[start + 1] == 10 {
                start += 2
            } else {
                break
            }
        }
        // A CR that ends the bytes so far may be the start of one more empty line: whether
        // it is depends on the next read, so the verdict must wait (a read that ends
        // between CR and LF must not turn an acceptable request into a 400).
        if start < 32, start + 1 == buffer.count, buffer[start] == 13 { return .incomplete }
        let found = findHeadEnd(buffer, from: start)
        // A CR must start a CRLF; a bare CR is how some request smuggling begins.
        if hasBareCR(buffer, from: start, to: found?.1 ?? buffer.count) { return .error(status: 400) }
        guard let (headEnd, bodyStart) = found else {
            if buffer.count - start > limits.maxHeadBytes { return .error(status: 431) }
            // Refuse at once what cannot become a request line (a TLS hello, binary junk)
            // instead of waiting for a head that will never end.
            let method = buffer[start...].prefix { $0 != 0x20 }
            return method.allSatisfy(isTokenByte) && method.count < 32 ? .incomplete : .error(status: 400)
        }
        guard bodyStart - start <= limits.maxHeadBytes else { return .error(status: 431) }
        let lines = buffer[start..<headEnd].split(separator: 10, omittingEmptySubsequences: false).map { line in
            line.last == 13 ? line.dropLast() : line
        }
        guard let requestLine = lines.first else { return .error(status: 400) }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty,
            parts[0].allSatisfy(isTokenByte), parts[1].allSatisfy({ $0 > 0x20 && $0 != 0x7F })
        else {
            return .error(status: 400)
        }
        // request-target = origin-form / absolute-form / authority-form (CONNECT) / asterisk-form (OPTIONS)
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = parts[1]
        let originForm = target.first == UInt8(ascii: "/")
        let absoluteForm = target.starts(with: "http://".utf8) || target.starts(with: "https://".utf8)
        let asteriskForm = method == "OPTIONS" && target.elementsEqual("*".utf8)
        let authorityForm = method == "CONNECT"
        guard originForm || absoluteForm || asteriskForm || authorityForm else { return .error(status: 400) }
        let version = String(decoding: parts[2], as: UTF8.self)
        let minor: Int
        switch version {
        case "HTTP/1.1": minor = 1
        case "HTTP/1.0": minor = 0
        default:
            let wellFormed =
                version.count == 8 && version.hasPrefix("HTTP/")
                && version.utf8.dropFirst(5).enumerated()
                    .allSatisfy { i, b in i == 1 ? b == UInt8(ascii: ".") : (b >= 0x30 && b <= 0x39) }
            return .error(status: wellFormed ? 505 : 400)
        }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first, first != 0x20, first != 0x09 else { return .error(status: 400) }  // obs-fold
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return .error(status: 400) }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return .error(status: 400) }
            var value = line[line.index(after: colon)...]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return .error(status: 400) }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            if headers.count > limits.maxHeaders { return .error(status: 431) }
        }
        var keepAlive = minor == 1
        var contentLength: Int?
        var chunked = false
        for (name, value) in headers {
            switch name.lowercased() {
            case "connection":
                let tokens = value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
                if tokens.contains("close") {
                    keepAlive = false
                } else if tokens.contains("keep-alive") {
                    keepAlive = true
                }
            case "content-length":
                for item in value.split(separator: ",", omittingEmptySubsequences: false) {
                    let text = item.trimmingCharacters(in: " \t")
                    guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                        return .error(status: 400)
                    }
                    if let existing = contentLength, existing != n { return .error(status: 400) }
                    contentLength = n
                }
            case "transfer-encoding":
                let codings = value.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: " \t") }
                guard minor == 1 else { return .error(status: 400) }
                guard codings.last == "chunked" else { return .error(status: 501) }
                guard !chunked, codings.filter({ $0 == "chunked" }).count == 1 else { return .error(status: 400) }
                guard codings.count == 1 else { return .error(status: 501) }
                chunked = true
            default:
                break
            }
        }
        if chunked && contentLength != nil { return .error(status: 400) }
        // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without
        // exactly one Host field.
        let hosts = headers.count { $0.name.lowercased() == "host" }
        if hosts > 1 || (minor == 1 && hosts == 0) { return .error(status: 400) }
        var body: [UInt8] = []
        var consumed = bodyStart
        if let contentLength {
            guard contentLength <= limits.maxBodyBytes else { return .error(status: 413) }
            guard buffer.count - bodyStart >= contentLength else { return .incomplete }
            body = Array(buffer[bodyStart..<(bodyStart + contentLength)])
            consumed = bodyStart + contentLength
        } else if chunked {
            switch decodeChunked(buffer, from: bodyStart) {
            case .incomplete: return .incomplete
            case .error(let status): return .error(status: status)
            case .done(let decoded, let end):
                body = decoded
                consumed = end
            }
        }
        let request = ParsedRequest(
            method: String(decoding: parts[0], as: UTF8.self),
            target: String(decoding: parts[1], as: UTF8.self),
            versionMinor: minor, headers: headers, body: body, keepAlive: keepAlive)
        return .request(request, consumed: consumed)
    }

    private enum ChunkOutcome {
        case incomplete
        case error(Int)
        case done([UInt8], Int)
    }

    /// chunked-body   = *chunk last-chunk trailer-section CRLF
    /// chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
    /// chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
    /// trailer-section = *( field-line CRLF )
    private func decodeChunked(_ buffer: [UInt8], from start: Int) -> ChunkOutcome {
        var body: [UInt8] = []
        var i = start
        while true {
            guard let lineEnd = buffer[i...].firstIndex(of: 10) else {
                return buffer.count - i > 1100 ? .error(400) : .incomplete
            }
            var line = buffer[i..<lineEnd]
            if line.last == 13 { line = line.dropLast() }
            let digits = line.prefix { isHexDigit($0) }
            guard !digits.isEmpty, digits.count <= 15,
                let size = Int(String(decoding: digits, as: UTF8.self), radix: 16)
            else { return .error(400) }
            var rest = line.dropFirst(digits.count)
            while let f = rest.first, f == 0x20 || f == 0x09 { rest = rest.dropFirst() }
            // Whitespace after the size is only allowed before an extension (BWS ";").
            if rest.isEmpty && line.count > digits.count { return .error(400) }
            if !rest.isEmpty {
                // Extensions are read and ignored, but must be well-formed text of bounded length.
                guard rest.first == UInt8(ascii: ";"), rest.count - 1 <= 1024,
                    rest.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) })
                else { return .error(400) }
            }
            i = lineEnd + 1
            if size == 0 {
                var trailerBytes = 0
                while true {
                    guard let end = buffer[i...].firstIndex(of: 10) else {
                        return trailerBytes + buffer.count - i > limits.maxHeadBytes ? .error(431) : .incomplete
                    }
                    var field = buffer[i..<end]
                    if field.last == 13 { field = field.dropLast() }
                    i = end + 1
                    if field.isEmpty { return .done(body, i) }
                    trailerBytes += field.count + 2
                    guard trailerBytes <= limits.maxHeadBytes else { return .error(431) }
                    guard let first = field.first, first != 0x20, first != 0x09,  // obs-fold
                        let colon = field.firstIndex(of: UInt8(ascii: ":")), colon > field.startIndex,
                        field[field.startIndex..<colon].allSatisfy(isTokenByte),
                        field[colon...].dropFirst().allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) })
                    else {
                        return .error(400)
                    }
                }
            }
            guard body.count + size <= limits.maxBodyBytes else { return .error(413) }
            guard buffer.count >= i + size + 2 else { return .incomplete }
            body.append(contentsOf: buffer[i..<(i + size)])
            i += size
            if buffer[i] == 13 && buffer[i + 1] == 10 {
                i += 2
            } else if buffer[i] == 10 {
                i += 1
            } else {
                return .error(400)
            }
        }
    }

    /// The end of the head (exclusive, without the final line break) and the
    /// start of the body: the head ends with an empty line, CRLF or bare LF.
    private func findHeadEnd(_ buffer: [UInt8], from start: Int) -> (Int, Int)? {
        var i = start
        while i + 1 < buffer.count {
            if buffer[i] == 10 {
                // The head's lines are split on LF and lose one trailing CR each.
                if buffer[i + 1] == 10 { return (i, i + 2) }
                if i + 2 < buffer.count, buffer[i + 1] == 13, buffer[i + 2] == 10 { return (i, i + 3) }
            }
            i += 1
        }
        return nil
    }
}

private func hasBareCR(_ buffer: [UInt8], from start: Int, to end: Int) -> Bool {
    var i = start
    while i < end {
        if buffer[i] == 13 && i + 1 < buffer.count && buffer[i + 1] != 10 { return true }
        i += 1
    }
    return false
}

private func isHexDigit(_ b: UInt8) -> Bool {
    (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x66)
}

private func isTokenByte(_ b: UInt8) -> Bool {
    // tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        return true
    default:
        return Array("!#$%&'*+-.^_`|~".utf8).contains(b)
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        return String(drop { chars.contains($0) }.reversed().drop { chars.contains($0) }.reversed())
    }
}
