import WireFormat

/// A JSON value built from dictionaries and arrays, the way sync Python
/// frameworks build answers (`jsonify({...})`). Object keys keep their order.
public indirect enum JSON: Sendable, ExpressibleByDictionaryLiteral, ExpressibleByArrayLiteral,
    ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral
{
    case object([(String, JSON)])
    case array([JSON])
    case string(String)
    case int(Int)
    case number(Double)
    case bool(Bool)
    case null

    public init(dictionaryLiteral elements: (String, JSON)...) { self = .object(elements) }
    public init(arrayLiteral elements: JSON...) { self = .array(elements) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }

    /// Serialized UTF-8 text.
    public func serialized() -> [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }

    private func write(to writer: inout JSONWriter) {
        switch self {
        case .object(let pairs):
            writer.beginObject()
            for (key, value) in pairs {
                writer.dynamicKey(key)
                value.write(to: &writer)
            }
            writer.endObject()
        case .array(let items):
            writer.beginArray()
            for item in items { item.write(to: &writer) }
            writer.endArray()
        case .string(let s): writer.string(s)
        case .int(let i): writer.int(i)
        case .number(let d): writer.number(d)
        case .bool(let b): writer.bool(b)
        case .null: writer.null()
        }
    }
}
