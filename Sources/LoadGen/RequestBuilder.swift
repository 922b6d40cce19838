/// Builds the load's requests from what a user asks on the command line: any
/// method, headers, a body (text, file bytes, or multipart form data), and —
/// with templates on — random fields in the target, header values and body,
/// drawn from a seeded generator into `variants` distinct requests (so a
/// server cannot answer from one cached response). The requests are structure;
/// the load generator encodes them. Bytes that do not vary (a body without
/// placeholders, a file part) are stored once and shared by every variant.
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
    /// Sent as they are (values template-expanded); a Host field here names the authority.
    public var headers: [(name: String, value: String)] = []
    public var body: Body = .none
    public var templates = false
    public var expectedStatus = 0

    public init(target: String) {
        self.target = target
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public func build(variants: Int, seed: UInt64) throws -> [LoadRequest] {
        let count = templates ? max(1, variants) : 1
        var random = LoadRandom(seed: seed)
        // One boundary for the run: it need not vary, and a fixed one lets an unvarying form be shared whole.
        let boundary = "catbench-\(String(random.next(), radix: 16))"
        var shared: [Int: RequestBody.Segment] = [:]
        switch body {
        case .none:
            break
        case .bytes(let bytes):
            if !templates { shared[0] = RequestBody.Segment(bytes) }
        case .multipart(let parts):
            for (k, part) in parts.enumerated() {
                if case .file(_, _, _, let bytes) = part { shared[k] = RequestBody.Segment(bytes) }
            }
        }
        var requests: [LoadRequest] = []
        requests.reserveCapacity(count)
        for n in 0..<count {
            let expand: (String) throws -> String = { text in
                templates ? try Template.expand(text, sequence: n, random: &random) : text
            }
            let path = try expand(target)
            guard !path.isEmpty, path.utf8.allSatisfy({ $0 > 32 && $0 != 127 }) else {
                throw Invalid(description: "the target '\(path)' is empty or contains whitespace; percent-encode it")
            }
            var requestBody = RequestBody()
            var contentType: String?
            switch body {
            case .none:
                break
            case .bytes(let bytes):
                if let segment = shared[0] {
                    requestBody = RequestBody(segments: [segment])
                } else {
                    requestBody = RequestBody(Array(try expand(String(decoding: bytes, as: UTF8.self)).utf8))
                }
            case .multipart(let parts):
                contentType = "multipart/form-data; boundary=\(boundary)"
                requestBody = try Self.multipart(parts, boundary: boundary, files: shared, expand: expand)
            }
            var fields: [(name: String, value: String)] = []
            for (name, value) in headers {
                fields.append((name, try expand(value)))
            }
            if let contentType, !headers.contains(where: { $0.name.lowercased() == "content-type" }) {
                fields.append(("Content-Type", contentType))
            }
            requests.append(
                LoadRequest(
                    method: method, target: path, headers: fields, body: requestBody,
                    expectedStatus: expectedStatus))
        }
        return requests
    }

    /// multipart/form-data (RFC 7578): the text around the parts is this
    /// variant's, each file's bytes the segment every variant shares.
    private static func multipart(
        _ parts: [Part], boundary: String, files: [Int: RequestBody.Segment],
        expand: (String) throws -> String
    ) throws -> RequestBody {
        var segments: [RequestBody.Segment] = []
        var text = ""
        for (k, part) in parts.enumerated() {
            text += "--\(boundary)\r\n"
            switch part {
            case .field(let name, let value):
                text += "Content-Disposition: form-data; name=\"\(name)\"\r\n\r\n\(try expand(value))\r\n"
            case .file(let name, let filename, let type, _):
                text += "Content-Disposition: form-data; name=\"\(name)\"; filename=\"\(filename)\"\r\n"
                text += "Content-Type: \(type)\r\n\r\n"
                segments.append(RequestBody.Segment(Array(text.utf8)))
                segments.append(files[k]!)
                text = "\r\n"
            }
        }
        text += "--\(boundary)--\r\n"
        segments.append(RequestBody.Segment(Array(text.utf8)))
        return RequestBody(segments: segments)
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
    static let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
        "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
    ]

    static func expand(_ text: String, sequence: Int, random: inout LoadRandom) throws -> String {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw RequestBuilder.Invalid(description: "unclosed '{{' in template '\(text)'")
            }
            let spec = rest[open.upperBound..<close.lowerBound].split(separator: ":", omittingEmptySubsequences: false)
                .map(String.init)
            out += try value(spec, sequence: sequence, random: &random, in: text)
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    private static func value(_ spec: [String], sequence: Int, random: inout LoadRandom, in text: String) throws
        -> String
    {
        switch spec[0] {
        case "int":
            guard spec.count == 3, let low = Int(spec[1]), let high = Int(spec[2]), low <= high else {
                throw RequestBuilder.Invalid(
                    description: "'{{int:MIN:MAX}}' needs two integers, MIN ≤ MAX, in '\(text)'")
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
            let a = random.next()
            let b = random.next()
            func hex(_ v: UInt64, _ digits: Int) -> String {
                let s = String(v, radix: 16)
                return String(repeating: "0", count: max(0, digits - s.count)) + s.suffix(digits)
            }
            return
                "\(hex(a >> 32, 8))-\(hex((a >> 16) & 0xFFFF, 4))-4\(hex(a & 0xFFF, 3))-\(hex(0x8000 | (b >> 48) & 0x3FFF, 4))-\(hex(b & 0xFFFF_FFFF_FFFF, 12))"
        case "email":
            return
                "\(words[Int.random(in: 0..<words.count, using: &random)])\(Int.random(in: 1...99999, using: &random))@example.com"
        default:
            throw RequestBuilder.Invalid(
                description:
                    "unknown placeholder '{{\(spec.joined(separator: ":"))}}' in '\(text)'; known: int:MIN:MAX, word, uuid, hex:N, email, seq"
            )
        }
    }
}
