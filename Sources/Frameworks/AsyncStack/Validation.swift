import FoundationEssentials

/// A field decoded without giving up on the first problem: pydantic reports
/// every failing field, where a plain Codable decode stops at the first.
public enum Lenient<Value: Decodable & Sendable>: Decodable, Sendable {
    case missing
    case null
    case wrongType
    case value(Value)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let v = try? container.decode(Value.self) {
            self = .value(v)
        } else {
            self = .wrongType
        }
    }
}

extension KeyedDecodingContainer {
    /// A field that may be absent, null, of the wrong type, or right.
    public func lenient<V>(_ key: Key) -> Lenient<V> {
        guard contains(key) else { return .missing }
        return (try? decode(Lenient<V>.self, forKey: key)) ?? .wrongType
    }
}

/// Every failing field of a model, by path, as the 422 answer lists them.
public struct ValidationErrors: Error, Sendable {
    public struct Entry: Sendable, Encodable {
        public let path: String
        public let message: String

        public init(path: String, message: String) {
            self.path = path
            self.message = message
        }
    }

    public private(set) var entries: [Entry] = []
    public init() {}

    public mutating func add(_ path: String, _ message: String) { entries.append(Entry(path: path, message: message)) }
    public var isEmpty: Bool { entries.isEmpty }
}

/// Declarative rules for one field (pydantic's `Field(...)` constraints).
public struct FieldRules: Sendable {
    public var length: ClosedRange<Int>?
    var pattern: PatternBox?
    public var range: ClosedRange<Double>?

    public init(length: ClosedRange<Int>? = nil, pattern: String? = nil, range: ClosedRange<Double>? = nil) {
        self.length = length
        self.pattern = pattern.map(PatternBox.init)
        self.range = range
    }

    /// The value if it is present, of the right type and within the rules; records a failure otherwise.
    public func check<V>(_ field: Lenient<V>, _ path: String, _ errors: inout ValidationErrors, required: Bool = true)
        -> V?
    {
        switch field {
        case .missing, .null:
            if required { errors.add(path, "field required") }
            return nil
        case .wrongType:
            errors.add(path, "wrong type")
            return nil
        case .value(let v):
            if let s = v as? String {
                if let length, !length.contains(s.count) {
                    errors.add(path, "length must be within \(length)"); return nil
                }
                if let pattern, !pattern.matches(s) { errors.add(path, "does not match the pattern"); return nil }
            }
            if let range {
                let n = (v as? Double) ?? (v as? Int64).map(Double.init)
                if let n, !range.contains(n) {
                    errors.add(path, "must be within \(range.lowerBound)…\(range.upperBound)"); return nil
                }
            }
            return v
        }
    }
}

/// Decodes a body the way FastAPI reads a request model: malformed JSON is a
/// 400, anything else goes to the model's own validation.
public enum BodyDecoding {
    public static func decode<T: Decodable>(_ type: T.Type, from request: AsyncRequest) throws -> T {
        guard let body = request.body else { throw AsyncHTTPError(.badRequest, "malformed JSON: empty body") }
        let data = Data(body.readableBytesView)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw AsyncHTTPError(.badRequest, "malformed JSON")
        } catch {
            throw AsyncHTTPError(.unprocessableEntity, "the body is not the expected document")
        }
    }
}

/// A compiled regular expression shared by tasks (matching does not change it).
final class PatternBox: @unchecked Sendable {
    private let regex: Regex<AnyRegexOutput>
    init(_ pattern: String) { regex = try! Regex(pattern) }
    func matches(_ text: String) -> Bool { (try? regex.wholeMatch(in: text)) != nil }
}
