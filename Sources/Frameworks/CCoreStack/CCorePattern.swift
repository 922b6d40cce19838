/// The patterns ccore's compiled field specs accept, compiled at start-up into
/// character-set tokens and matched by a small backtracking matcher over the
/// UTF-8 bytes — no regex engine on the request path. The grammar is the
/// subset the schemas need: `^`, `$`, literals, `\.`, `[set]`, `[^set]`,
/// `\s` inside sets, and `{n}`, `{m,n}`, `+`, `*`, `?`.
public struct CCorePattern: Sendable {
    struct Token: Sendable {
        var set: [Bool]  // 256 entries
        var min: Int
        var max: Int
    }

    let tokens: [Token]
    public let source: String

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ source: String) throws {
        self.source = source
        var b = Array(source.utf8)
        guard b.first == UInt8(ascii: "^"), b.last == UInt8(ascii: "$") else {
            throw Invalid(description: "pattern \(source) must be anchored with ^ and $")
        }
        b = Array(b.dropFirst().dropLast())
        var tokens: [Token] = []
        var i = 0
        while i < b.count {
            var set = [Bool](repeating: false, count: 256)
            switch b[i] {
            case UInt8(ascii: "["):
                i += 1
                let negate = i < b.count && b[i] == UInt8(ascii: "^")
                if negate { i += 1 }
                var members = [Bool](repeating: false, count: 256)
                while i < b.count && b[i] != UInt8(ascii: "]") {
                    if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                        if b[i + 1] == UInt8(ascii: "s") {
                            for c in [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C] { members[c] = true }
                        } else {
                            members[Int(b[i + 1])] = true
                        }
                        i += 2
                    } else if i + 2 < b.count, b[i + 1] == UInt8(ascii: "-"), b[i + 2] != UInt8(ascii: "]") {
                        for c in b[i]...b[i + 2] { members[Int(c)] = true }
                        i += 3
                    } else {
                        members[Int(b[i])] = true
                        i += 1
                    }
                }
                guard i < b.count else { throw Invalid(description: "unclosed [ in \(source)") }
                i += 1
                set = negate ? members.map { !$0 } : members
            case UInt8(ascii: "\\"):
                guard i + 1 < b.count else { throw Invalid(description: "trailing \\ in \(source)") }
                set[Int(b[i + 1])] = true
                i += 2
            case UInt8(ascii: "."):
                set = [Bool](repeating: true, count: 256)
                i += 1
            default:
                set[Int(b[i])] = true
                i += 1
            }
            var minCount = 1
            var maxCount = 1
            if i < b.count {
                switch b[i] {
                case UInt8(ascii: "+"): (minCount, maxCount) = (1, Int.max); i += 1
                case UInt8(ascii: "*"): (minCount, maxCount) = (0, Int.max); i += 1
                case UInt8(ascii: "?"): (minCount, maxCount) = (0, 1); i += 1
                case UInt8(ascii: "{"):
                    guard let close = b[i...].firstIndex(of: UInt8(ascii: "}")) else {
                        throw Invalid(description: "unclosed { in \(source)")
                    }
                    let parts = String(decoding: b[(i + 1)..<close], as: UTF8.self).split(
                        separator: ",", omittingEmptySubsequences: false)
                    guard let low = Int(parts[0]) else { throw Invalid(description: "bad repetition in \(source)") }
                    minCount = low
                    maxCount = parts.count == 1 ? low : (parts[1].isEmpty ? Int.max : Int(parts[1]) ?? -1)
                    guard maxCount >= minCount else { throw Invalid(description: "bad repetition in \(source)") }
                    i = close + 1
                default: break
                }
            }
            tokens.append(Token(set: set, min: minCount, max: maxCount))
        }
        self.tokens = tokens
    }

    /// True when the whole of `text` matches.
    public func matches(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { match($0, 0, 0) }
    }

    private func match(_ s: UnsafeBufferPointer<UInt8>, _ t: Int, _ at: Int) -> Bool {
        guard t < tokens.count else { return at == s.count }
        let token = tokens[t]
        // Greedy: take as many as allowed, then give back one at a time.
        var n = 0
        while n < token.max && at + n < s.count && token.set[Int(s[at + n])] { n += 1 }
        while n >= token.min {
            if match(s, t + 1, at + n) { return true }
            n -= 1
        }
        return false
    }
}
