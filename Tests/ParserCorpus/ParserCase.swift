import Foundation

/// The parser cases in Tests/Fixtures/http1-requests.cases (the format is
/// described at the top of that file; the C harness reads the same file).
public struct ParserCase: CustomStringConvertible, Sendable {
    public struct Limits: Sendable {
        public var maxHeaderBytes: UInt32 = 8192
        public var maxHeaders: UInt32 = 64
        public var maxBodyBytes: UInt32 = 1_048_576
    }

    public enum Outcome: Equatable, Sendable {
        case request([String: [UInt8]], headers: [[UInt8]]?)
        case error(Int)
        case incomplete
    }

    public var name: String
    public var raw: [UInt8] = []
    public var limits = Limits()
    public var expected: [Outcome] = []

    public var description: String { name }

    public static func load() throws -> [ParserCase] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/http1-requests.cases")
        let text = try String(contentsOf: url, encoding: .utf8)
        var cases: [ParserCase] = []
        var current: ParserCase?
        var fields: [String: [UInt8]] = [:]
        var headers: [[UInt8]]?
        var inRequest = false

        func closeRequest() {
            if inRequest { current?.expected.append(.request(fields, headers: headers)) }
            inRequest = false
            fields = [:]
            headers = nil
        }

        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("=== ") {
                closeRequest()
                if let c = current { cases.append(c) }
                current = ParserCase(name: String(line.dropFirst(4)))
                continue
            }
            if line.isEmpty || line.hasPrefix("#") || current == nil { continue }
            let key: Substring
            let value: Substring
            if let range = line.range(of: ": ") {
                key = line[..<range.lowerBound]
                value = line[range.upperBound...]
            } else if line.hasSuffix(":") {
                key = line.dropLast()
                value = ""
            } else {
                continue
            }
            switch key {
            case "raw":
                current!.raw += unescape(value)
            case "limits":
                for item in value.split(separator: " ") {
                    let kv = item.split(separator: "=")
                    guard kv.count == 2, let n = UInt32(kv[1]) else { continue }
                    switch kv[0] {
                    case "max_header_bytes": current!.limits.maxHeaderBytes = n
                    case "max_headers": current!.limits.maxHeaders = n
                    case "max_body_bytes": current!.limits.maxBodyBytes = n
                    default: break
                    }
                }
            case "expect":
                closeRequest()
                if value == "request" {
                    inRequest = true
                } else if value == "incomplete" {
                    current!.expected.append(.incomplete)
                } else if value.hasPrefix("error "), let code = Int(value.dropFirst(6)) {
                    current!.expected.append(.error(code))
                }
            case "header":
                if headers == nil { headers = [] }
                headers!.append(unescape(value))
            default:
                fields[String(key)] = unescape(value)
            }
        }
        closeRequest()
        if let c = current { cases.append(c) }
        return cases
    }

    public static func unescape(_ text: Substring) -> [UInt8] {
        var out: [UInt8] = []
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                switch b[i + 1] {
                case UInt8(ascii: "r"): out.append(13); i += 2
                case UInt8(ascii: "n"): out.append(10); i += 2
                case UInt8(ascii: "t"): out.append(9); i += 2
                case UInt8(ascii: "0"): out.append(0); i += 2
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); i += 2
                case UInt8(ascii: "x") where i + 3 < b.count + 0:
                    out.append(UInt8(String(decoding: b[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) ?? 0)
                    i += 4
                default: out.append(b[i]); i += 1
                }
            } else {
                out.append(b[i])
                i += 1
            }
        }
        return out
    }
}
