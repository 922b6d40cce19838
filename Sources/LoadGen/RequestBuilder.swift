/// Builds the load's pre-encoded requests from what a user asks on the
/// command line: any method, headers, a body (text, file bytes, or multipart
/// form data), and — with templates on — random fields in the target, header
/// values and body, drawn from a seeded generator into `variants` distinct
/// requests (so a server cannot answer from one cached response).
///
/// Placeholders: `{{int:MIN:MAX}}`, `{{word}}`, `{{uuid}}`, `{{hex:N}}`,
/// `{{email}}`, `{{seq}}` (the variant's number).
public struct RequestBuilder: Sendable {
    public enum Part: Sendable {
        case field(name: String, value: String)
        case file(name: String, filename: String, contentType: String, bytes: [UInt8])
    }

    public enum Body: Sendable {
        case none
        case bytes([UInt8])
        case multipart([Part])
    }

    public var method = "GET"
    public var target: String
    public var host: String
    public var headers: [(name: String, value: String)] = []
    public var body: Body = .none
    public var templates = false
    public var expectedStatus = 0

    public init(target: String, host: String) {
        self.target = target
        self.host = host
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public func build(variants: Int, seed: UInt64) throws -> [LoadRequest] {
        let count = templates ? max(1, variants) : 1
        var random = LoadRandom(seed: seed)
        var requests: [LoadRequest] = []
        requests.reserveCapacity(count)
        for n in 0..<count {
            let expand: (String) throws -> String = { text in
                templates ? try Template.expand(text, sequence: n, random: &random) : text
            }
            let path = try expand(target)
            guard !path.contains(" "), !path.contains("\r"), !path.contains("\n") else {
                throw Invalid(description: "the target '\(path)' contains whitespace; percent-encode it")
            }
            var bodyBytes: [UInt8] = []
            var contentType: String?
            switch body {
            case .none:
                break
            case .bytes(let bytes):
                bodyBytes = templates ? Array(try expand(String(decoding: bytes, as: UTF8.self)).utf8) : bytes
            case .multipart(let parts):
                let boundary = "catbench-\(String(random.next(), radix: 16))"
                contentType = "multipart/form-data; boundary=\(boundary)"
                for part in parts {
                    bodyBytes += Array("--\(boundary)\r\n".utf8)
                    switch part {
                    case .field(let name, let value):
                        bodyBytes += Array("Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(try expand(value))\r\n".utf8)
                    case .file(let name, let filename, let type, let bytes):
                        bodyBytes += Array("Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\nContent-Type: \(type)\r\n\r\n".utf8)
                        bodyBytes += bytes
                        bodyBytes += Array("\r\n".utf8)
                    }
                }
                bodyBytes += Array("--\(boundary)--\r\n".utf8)
            }
            var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n"
            var hasContentType = false
            for (name, value) in headers {
                if name.lowercased() == "content-type" { hasContentType = true }
                if name.lowercased() == "content-length" || name.lowercased() == "host" { continue }
                text += "\(name): \(try expand(value))\r\n"
            }
            if let contentType, !hasContentType { text += "Content-Type: \(contentType)\r\n" }
            if !bodyBytes.isEmpty || ["POST", "PUT", "PATCH"].contains(method) {
                text += "Content-Length: \(bodyBytes.count)\r\n"
            }
            text += "\r\n"
            requests.append(LoadRequest(bytes: Array(text.utf8) + bodyBytes, expectedStatus: expectedStatus, isHead: method == "HEAD"))
        }
        return requests
    }
}

/// SplitMix64, seeded: the same seed gives the same requests on every run.
struct LoadRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

enum Template {
    static let words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
                        "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]

    static func expand(_ text: String, sequence: Int, random: inout LoadRandom) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw RequestBuilder.Invalid(description: "unclosed '{{' in template '\(text)'")
            }
            let spec = rest[open.upperBound..<close.lowerBound].split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            out += try value(spec, sequence: sequence, random: &random, in: text)
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    private static func value(_ spec: [String], sequence: Int, random: inout LoadRandom, in text: String) throws -> String {
        switch spec[0] {
        case "int":
            guard spec.count == 3, let low = Int(spec[1]), let high = Int(spec[2]), low <= high else {
                throw RequestBuilder.Invalid(description: "'{{int:MIN:MAX}}' needs two integers, MIN ≤ MAX, in '\(text)'")
            }
            return String(Int.random(in: low...high, using: &random))
        case "word":
            return words[Int.random(in: 0..<words.count, using: &random)]
        case "seq":
            return String(sequence)
        case "hex":
            guard spec.count == 2, let n = Int(spec[1]), (1...256).contains(n) else {
                throw RequestBuilder.Invalid(description: "'{{hex:N}}' needs N within 1…256 in '\(text)'")
            }
            return String((0..<n).map { _ in "0123456789abcdef".randomElement(using: &random)! })
        case "uuid":
            let a = random.next(), b = random.next()
            func hex(_ v: UInt64, _ digits: Int) -> String {
                let s = String(v, radix: 16)
                return String(repeating: "0", count: max(0, digits - s.count)) + s.suffix(digits)
            }
            return "\(hex(a >> 32, 8))-\(hex((a >> 16) & 0xFFFF, 4))-4\(hex(a & 0xFFF, 3))-\(hex(0x8000 | (b >> 48) & 0x3FFF, 4))-\(hex(b & 0xFFFF_FFFF_FFFF, 12))"
        case "email":
            return "\(words[Int.random(in: 0..<words.count, using: &random)])\(Int.random(in: 1...99999, using: &random))@example.com"
        default:
            throw RequestBuilder.Invalid(description: "unknown placeholder '{{\(spec.joined(separator: ":"))}}' in '\(text)'; known: int:MIN:MAX, word, uuid, hex:N, email, seq")
        }
    }
}
