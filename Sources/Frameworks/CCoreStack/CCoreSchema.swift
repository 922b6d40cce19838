import WireFormat

/// A field of a ccore schema: what a JSON value must be.
public indirect enum CCoreFieldSpec: Sendable {
    case string(
        length: ClosedRange<Int>? = nil, pattern: CCorePattern? = nil, trim: Bool = false, lowercase: Bool = false)
    case integer(ClosedRange<Int64>)
    case number(ClosedRange<Double>)
    case boolean
    case object([CCoreProperty])
    case array(of: CCoreFieldSpec, count: ClosedRange<Int>)
}

public struct CCoreProperty: Sendable {
    public let name: String
    public let spec: CCoreFieldSpec
    public let required: Bool
    /// Written when the field is absent (or null) and not required; nil writes null.
    public let defaultValue: JSONValue?

    public init(_ name: String, _ spec: CCoreFieldSpec, required: Bool = true, default defaultValue: JSONValue? = nil) {
        self.name = name
        self.spec = spec
        self.required = required
        self.defaultValue = defaultValue
    }
}

/// ccore's validation: field specs compiled once into a flat table of nodes
/// (children by index), then checked in one pass that writes the normalized
/// document as it goes and collects every failing field by path.
public final class CCoreSchema: Sendable {
    enum Kind: Sendable {
        case string(length: ClosedRange<Int>?, pattern: CCorePattern?, trim: Bool, lowercase: Bool)
        case integer(ClosedRange<Int64>)
        case number(ClosedRange<Double>)
        case boolean
        case object(children: Range<Int>)
        case array(element: Int, count: ClosedRange<Int>)
    }

    struct Node: Sendable {
        var kind: Kind
        var name: String
        var required: Bool
        var defaultValue: JSONValue?
    }

    private let nodes: [Node]
    private let root: Int

    public struct Failure: Sendable {
        public let path: String
        public let message: String
    }

    public init(_ spec: CCoreFieldSpec) {
        var nodes: [Node] = []
        // Children of an object sit next to each other, so an object names a range.
        func compile(_ spec: CCoreFieldSpec, name: String, required: Bool, defaultValue: JSONValue?) -> Int {
            let index = nodes.count
            nodes.append(Node(kind: .boolean, name: name, required: required, defaultValue: defaultValue))
            switch spec {
            case .string(let length, let pattern, let trim, let lowercase):
                nodes[index].kind = .string(length: length, pattern: pattern, trim: trim, lowercase: lowercase)
            case .integer(let range): nodes[index].kind = .integer(range)
            case .number(let range): nodes[index].kind = .number(range)
            case .boolean: nodes[index].kind = .boolean
            case .object(let properties):
                let start = nodes.count
                for p in properties {
                    nodes.append(Node(kind: .boolean, name: p.name, required: p.required, defaultValue: p.defaultValue))
                }
                for (k, p) in properties.enumerated() {
                    let compiled = compile(p.spec, name: p.name, required: p.required, defaultValue: p.defaultValue)
                    nodes[start + k].kind = nodes[compiled].kind
                }
                nodes[index].kind = .object(children: start..<(start + properties.count))
            case .array(let element, let count):
                let e = compile(element, name: "", required: true, defaultValue: nil)
                nodes[index].kind = .array(element: e, count: count)
            }
            return index
        }
        root = compile(spec, name: "body", required: true, defaultValue: nil)
        self.nodes = nodes
    }

    /// Checks `value`; writes the normalized document into `out` (meaningful
    /// only when no failure is returned) and returns every failure.
    public func validate(_ value: JSONValue, into out: inout JSONWriter) -> [Failure] {
        var state = State()
        check(root, value, &out, &state)
        return state.failures
    }

    private struct State {
        var path: [PathPart] = []
        var failures: [Failure] = []

        enum PathPart {
            case key(String)
            case index(Int)
        }

        mutating func fail(_ message: String) {
            var text = ""
            for part in path {
                switch part {
                case .key(let k): text += text.isEmpty ? k : ".\(k)"
                case .index(let i): text += "[\(i)]"
                }
            }
            failures.append(Failure(path: text.isEmpty ? "body" : text, message: message))
        }
    }

    private func check(_ i: Int, _ value: JSONValue, _ out: inout JSONWriter, _ state: inout State) {
        switch nodes[i].kind {
        case .string(let length, let pattern, let trim, let lowercase):
            guard case .string(var text) = value else { return state.fail("must be a string") }
            if trim { text = trimmed(text) }
            if lowercase { text = text.lowercased() }
            if let length, !length.contains(text.count) {
                state.fail("must be \(length.lowerBound) to \(length.upperBound) characters long")
            } else if let pattern, !pattern.matches(text) {
                state.fail("must match \(pattern.source)")
            }
            out.string(text)
        case .integer(let range):
            guard case .int(let n) = value else { return state.fail("must be an integer") }
            if !range.contains(n) { state.fail("must be between \(range.lowerBound) and \(range.upperBound)") }
            out.int(Int(n))
        case .number(let range):
            guard let n = value.doubleValue else { return state.fail("must be a number") }
            if !range.contains(n) { state.fail("must be between \(range.lowerBound) and \(range.upperBound)") }
            out.number(n)
        case .boolean:
            guard case .bool(let b) = value else { return state.fail("must be true or false") }
            out.bool(b)
        case .object(let children):
            guard case .object(let fields) = value else { return state.fail("must be an object") }
            out.beginObject()
            for c in children {
                let node = nodes[c]
                out.dynamicKey(node.name)
                state.path.append(.key(node.name))
                if let field = fields[node.name], field != .null {
                    check(c, field, &out, &state)
                } else if node.required {
                    state.fail("field required")
                    out.null()
                } else if let value = node.defaultValue {
                    writeDefault(value, &out)
                } else {
                    out.null()
                }
                state.path.removeLast()
            }
            out.endObject()
        case .array(let element, let count):
            guard case .array(let items) = value else { return state.fail("must be an array") }
            if !count.contains(items.count) {
                state.fail("must have \(count.lowerBound) to \(count.upperBound) items")
            }
            out.beginArray()
            for (k, item) in items.enumerated() {
                state.path.append(.index(k))
                check(element, item, &out, &state)
                state.path.removeLast()
            }
            out.endArray()
        }
    }

    private func writeDefault(_ value: JSONValue, _ out: inout JSONWriter) {
        switch value {
        case .bool(let b): out.bool(b)
        case .array: out.beginArray(); out.endArray()
        case .string(let s): out.string(s)
        case .int(let n): out.int(Int(n))
        default: out.null()
        }
    }

    private func trimmed(_ text: String) -> String {
        guard let first = text.utf8.first, let last = text.utf8.last else { return text }
        let space: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard space(first) || space(last) else { return text }
        let bytes = Array(text.utf8).drop(while: space).reversed().drop(while: space).reversed()
        return String(decoding: Array(bytes), as: UTF8.self)
    }
}
