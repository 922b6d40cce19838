import WireFormat

/// The threaded stack's validation, marshmallow-style: a schema is a list of
/// named fields with their type, validators and defaults; `load` takes the
/// parsed JSON (as `json.loads` would give it) and returns the cleaned data or
/// every error by path.
public struct Schema: Sendable {
    public indirect enum FieldType: Sendable {
        case string
        case integer
        case number
        case boolean
        case nested(Schema)
        /// A list; `each` validates every element (marshmallow's `List(String(validate=…))`).
        case list(FieldType, each: [Validator] = [])
    }

    public struct Validator: Sendable {
        let check: @Sendable (JSONValue) -> String?

        public static func length(_ range: ClosedRange<Int>) -> Validator {
            Validator { value in
                if case .string(let s) = value, !range.contains(s.count) { return "length must be within \(range)" }
                if case .array(let a) = value, !range.contains(a.count) { return "must have \(range) items" }
                return nil
            }
        }

        public static func regexp(_ pattern: String) -> Validator {
            let regex = CompiledRegex(pattern)
            return Validator { value in
                guard case .string(let s) = value else { return nil }
                return regex.matches(s) ? nil : "does not match \(pattern)"
            }
        }

        public static func range(_ range: ClosedRange<Double>) -> Validator {
            Validator { value in
                guard let n = value.doubleValue else { return nil }
                return range.contains(n) ? nil : "must be within \(range.lowerBound)…\(range.upperBound)"
            }
        }
    }

    public struct Field: Sendable {
        let name: String
        let type: FieldType
        let required: Bool
        let defaultValue: JSON?
        let validators: [Validator]
        let transform: (@Sendable (String) -> String)?

        public init(
            _ name: String, _ type: FieldType, required: Bool = true, default defaultValue: JSON? = nil,
            validate validators: [Validator] = [], transform: (@Sendable (String) -> String)? = nil
        ) {
            self.name = name
            self.type = type
            self.required = required
            self.defaultValue = defaultValue
            self.validators = validators
            self.transform = transform
        }
    }

    let fields: [Field]

    public init(_ fields: [Field]) { self.fields = fields }

    /// Every error of a load, by path.
    public struct Errors: Error, Sendable {
        public let entries: [(path: String, message: String)]
    }

    /// Loads `data`; on success the cleaned data (unknown keys dropped,
    /// defaults filled in), otherwise every error as (path, message).
    public func load(_ data: JSONValue) -> Result<JSON, Errors> {
        var errors: [(path: String, message: String)] = []
        let result = load(data, path: "", &errors)
        if let result, errors.isEmpty { return .success(result) }
        return .failure(Errors(entries: errors.isEmpty ? [("body", "must be an object")] : errors))
    }

    private func load(_ data: JSONValue, path: String, _ errors: inout [(path: String, message: String)]) -> JSON? {
        guard case .object(let given) = data else {
            errors.append((path.isEmpty ? "body" : path, "must be an object"))
            return nil
        }
        var out: [(String, JSON)] = []
        for field in fields {
            let fieldPath = path.isEmpty ? field.name : "\(path).\(field.name)"
            guard let raw = given[field.name], raw != .null else {
                if field.required { errors.append((fieldPath, "Missing data for required field.")) }
                out.append((field.name, field.defaultValue ?? .null))
                continue
            }
            if let value = Schema.deserialize(raw, as: field.type, path: fieldPath, transform: field.transform, &errors)
            {
                var failed = false
                for validator in field.validators {
                    if let message = validator.check(Schema.plain(value) ?? raw) {
                        errors.append((fieldPath, message))
                        failed = true
                        break
                    }
                }
                if !failed { out.append((field.name, value)) }
            }
        }
        return .object(out)
    }

    private static func deserialize(
        _ raw: JSONValue, as type: FieldType, path: String, transform: (@Sendable (String) -> String)?,
        _ errors: inout [(path: String, message: String)]
    ) -> JSON? {
        switch (type, raw) {
        case (.string, .string(let s)): return .string(transform?(s) ?? s)
        case (.integer, .int(let n)): return .int(Int(n))
        case (.number, .int(let n)): return .number(Double(n))
        case (.number, .double(let d)): return .number(d)
        case (.boolean, .bool(let b)): return .bool(b)
        case (.nested(let schema), _): return schema.load(raw, path: path, &errors)
        case (.list(let element, let each), .array(let items)):
            var out: [JSON] = []
            var ok = true
            for (k, item) in items.enumerated() {
                let itemPath = "\(path)[\(k)]"
                if let value = deserialize(item, as: element, path: itemPath, transform: nil, &errors) {
                    if let message = each.lazy.compactMap({ $0.check(plain(value) ?? item) }).first {
                        errors.append((itemPath, message))
                        ok = false
                    } else {
                        out.append(value)
                    }
                } else {
                    ok = false
                }
            }
            return ok ? .array(out) : nil
        default:
            errors.append((path, "Not a valid \(type)."))
            return nil
        }
    }

    /// The cleaned value as JSON again, for validators that look at it (trimmed strings, counts).
    private static func plain(_ value: JSON) -> JSONValue? {
        switch value {
        case .string(let s): return .string(s)
        case .int(let n): return .int(Int64(n))
        case .number(let d): return .double(d)
        case .array(let a): return .array(a.map { plain($0) ?? .null })
        default: return nil
        }
    }
}

/// A compiled regular expression shared by threads (matching does not change it).
final class CompiledRegex: @unchecked Sendable {
    private let regex: Regex<AnyRegexOutput>
    init(_ pattern: String) { regex = try! Regex(pattern) }
    func matches(_ text: String) -> Bool { (try? regex.wholeMatch(in: text)) != nil }
}
