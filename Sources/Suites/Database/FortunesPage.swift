/// The fortunes page compared as TechEmpower's verifier compares it: as HTML
/// after normalising — tags by name (attributes and case ignored), text with
/// its character references decoded, whitespace between tags dropped — so
/// that `&#39;` and `&#x27;` are the same, and an unescaped `<script>` is a
/// tag where text belongs.
enum FortunesPage {
    enum Token: Equatable, CustomStringConvertible {
        case tag(String)
        case text(String)

        var description: String {
            switch self {
            case .tag(let name): "<\(name)>"
            case .text(let text): "\"\(text)\""
            }
        }
    }

    /// What is wrong with `body` as the page of `rows` plus the added fortune, or nil.
    static func problem(_ body: [UInt8], rows: [(id: Int64, message: String)]) -> String? {
        let expected = tokens(DatabaseData.fortunesPage(rows))
        let actual = tokens(body)
        guard actual != expected else { return nil }
        let at =
            zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            ?? min(actual.count, expected.count)
        let got = at < actual.count ? actual[at].description : "the end of the page"
        let wanted = at < expected.count ? expected[at].description : "the end of the page"
        return "the fortunes page differs from TechEmpower's at item \(at): got \(got), expected \(wanted)"
    }

    static func tokens(_ bytes: [UInt8]) -> [Token] {
        var out: [Token] = []
        var i = 0
        var text: [UInt8] = []
        func flushText() {
            let decoded = decode(text)
            if !decoded.allSatisfy({ $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }) {
                out.append(.text(decoded))
            }
            text = []
        }
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "<") {
                flushText()
                var j = i + 1
                while j < bytes.count && bytes[j] != UInt8(ascii: ">") { j += 1 }
                let inner = String(decoding: bytes[(i + 1)..<min(j, bytes.count)], as: UTF8.self).lowercased()
                let name =
                    inner.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first.map(String.init)
                    ?? ""
                // `<!doctype html>` keeps its argument; other tags are named alone.
                out.append(.tag(name == "!doctype" ? inner.split(separator: " ").joined(separator: " ") : name))
                i = j + 1
            } else {
                text.append(bytes[i])
                i += 1
            }
        }
        flushText()
        return out
    }

    /// Text with its character references decoded (named ones HTML escapers use, decimal and hex).
    static func decode(_ raw: [UInt8]) -> String {
        let text = String(decoding: raw, as: UTF8.self)
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[rest.index(after: amp)...]
            guard let semi = after.firstIndex(of: ";"), after.distance(from: after.startIndex, to: semi) <= 8 else {
                out += "&"
                rest = after
                continue
            }
            let name = after[..<semi]
            var scalar: Unicode.Scalar?
            switch name {
            case "amp": scalar = "&"
            case "lt": scalar = "<"
            case "gt": scalar = ">"
            case "quot": scalar = "\""
            case "apos": scalar = "'"
            default:
                if name.hasPrefix("#x") || name.hasPrefix("#X") {
                    scalar = UInt32(name.dropFirst(2), radix: 16).flatMap(Unicode.Scalar.init)
                } else if name.hasPrefix("#") {
                    scalar = UInt32(name.dropFirst()).flatMap(Unicode.Scalar.init)
                }
            }
            if let scalar {
                out.unicodeScalars.append(scalar)
                rest = after[after.index(after: semi)...]
            } else {
                out += "&"
                rest = after
            }
        }
        return out + rest
    }
}

/// The fortunes check, for tests and tools: what is wrong with `body` as the seeded page.
public enum FortunesCheck {
    public static func problem(_ body: [UInt8]) -> String? { FortunesPage.problem(body, rows: DatabaseData.fortunes) }
}
