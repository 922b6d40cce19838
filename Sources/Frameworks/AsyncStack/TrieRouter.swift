import NIOHTTP1

/// A segment trie: literal children first, then one `{name}` child per node,
/// so matching costs the path's depth, not the route count (Hummingbird's design).
struct TrieRouter: Sendable {
    final class Node: @unchecked Sendable {
        var literals: [Substring: Node] = [:]
        var parameter: (name: Substring, node: Node)?
        var handlers: [String: AsyncHandler] = [:]
    }

    enum Outcome {
        case found(AsyncHandler, Parameters)
        case methodNotAllowed([String])
        case notFound
    }

    struct InvalidRoute: Error, CustomStringConvertible {
        let description: String
    }

    let root = Node()

    func add(_ method: HTTPMethod, _ path: String, _ handler: @escaping AsyncHandler) throws {
        guard path.hasPrefix("/") else { throw InvalidRoute(description: "route '\(path)' must start with '/'") }
        var node = root
        for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if segment.hasPrefix("{") && segment.hasSuffix("}") {
                let name = segment.dropFirst().dropLast()
                guard !name.isEmpty else { throw InvalidRoute(description: "route '\(path)': empty parameter name") }
                if let existing = node.parameter {
                    guard existing.name == name else {
                        throw InvalidRoute(
                            description: "route '\(path)': parameter {\(name)} conflicts with {\(existing.name)}")
                    }
                    node = existing.node
                } else {
                    let child = Node()
                    node.parameter = (name, child)
                    node = child
                }
            } else {
                if let child = node.literals[segment] {
                    node = child
                } else {
                    let child = Node()
                    node.literals[segment] = child
                    node = child
                }
            }
        }
        guard node.handlers[method.rawValue] == nil else {
            throw InvalidRoute(description: "route \(method) \(path) is already registered")
        }
        node.handlers[method.rawValue] = handler
    }

    func match(_ method: HTTPMethod, _ path: Substring) -> Outcome {
        var parameters = Parameters()
        guard
            let node = find(
                root, path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)[...], &parameters)
        else {
            return .notFound
        }
        if let handler = node.handlers[method.rawValue] ?? (method == .HEAD ? node.handlers["GET"] : nil) {
            return .found(handler, parameters)
        }
        return node.handlers.isEmpty ? .notFound : .methodNotAllowed(Array(node.handlers.keys))
    }

    private func find(_ node: Node, _ segments: ArraySlice<Substring>, _ parameters: inout Parameters) -> Node? {
        guard let segment = segments.first else { return node.handlers.isEmpty ? nil : node }
        let rest = segments.dropFirst()
        if let child = node.literals[segment], let found = find(child, rest, &parameters) {
            return found
        }
        if let (name, child) = node.parameter, !segment.isEmpty {
            parameters.values.append((name, segment))
            if let found = find(child, rest, &parameters) { return found }
            parameters.values.removeLast()
        }
        return nil
    }
}

public typealias AsyncHandler = @Sendable (AsyncRequest) async throws -> AsyncResponse
