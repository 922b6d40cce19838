/// Flask-style routes (`/users/<int:id>`, `/files/<path:rest>`), tried one
/// after the other in the order they were added, as Django's URL list and
/// werkzeug's rule list are: the cost of routing grows with the route count.
struct Router: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case string(String)
        case int(String)
        case path(String)
    }

    struct Route: Sendable {
        let methods: Set<String>
        let pattern: String
        let segments: [Segment]
        let handler: Handler
    }

    enum Outcome {
        case found(Handler, [String: String])
        case methodNotAllowed(Set<String>)
        case notFound
    }

    private(set) var routes: [Route] = []

    struct InvalidPattern: Error, CustomStringConvertible {
        let description: String
    }

    mutating func add(_ pattern: String, methods: Set<String>, handler: @escaping Handler) throws {
        guard pattern.hasPrefix("/") else {
            throw InvalidPattern(description: "route '\(pattern)' must start with '/'")
        }
        var segments: [Segment] = []
        let parts = pattern.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for (i, part) in parts.enumerated() {
            if part.hasPrefix("<") && part.hasSuffix(">") {
                let inner = part.dropFirst().dropLast()
                let pieces = inner.split(separator: ":", maxSplits: 1).map(String.init)
                let (converter, name) = pieces.count == 2 ? (pieces[0], pieces[1]) : ("string", pieces.first ?? "")
                guard !name.isEmpty else {
                    throw InvalidPattern(description: "route '\(pattern)': empty parameter name")
                }
                switch converter {
                case "string": segments.append(.string(name))
                case "int": segments.append(.int(name))
                case "path":
                    guard i == parts.count - 1 else {
                        throw InvalidPattern(description: "route '\(pattern)': <path:…> must be last")
                    }
                    segments.append(.path(name))
                default: throw InvalidPattern(description: "route '\(pattern)': unknown converter '\(converter)'")
                }
            } else if part.contains("<") || part.contains(">") {
                throw InvalidPattern(description: "route '\(pattern)': malformed parameter in '\(part)'")
            } else {
                segments.append(.literal(String(part)))
            }
        }
        for route in routes where route.segments == segments && !route.methods.isDisjoint(with: methods) {
            throw InvalidPattern(
                description:
                    "route '\(pattern)' is already registered for \(route.methods.intersection(methods).sorted())")
        }
        routes.append(Route(methods: methods, pattern: pattern, segments: segments, handler: handler))
    }

    func match(method: String, path: String) -> Outcome {
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        var allowed: Set<String> = []
        for route in routes {
            guard let params = Router.match(route.segments, parts) else { continue }
            if route.methods.contains(method) || (method == "HEAD" && route.methods.contains("GET")) {
                return .found(route.handler, params)
            }
            allowed.formUnion(route.methods)
        }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed)
    }

    private static func match(_ segments: [Segment], _ parts: [Substring]) -> [String: String]? {
        var params: [String: String] = [:]
        for (i, segment) in segments.enumerated() {
            if case .path(let name) = segment {
                guard i < parts.count else { return nil }
                let rest = parts[i...].joined(separator: "/")
                guard !rest.isEmpty else { return nil }
                params[name] = rest
                return params
            }
            guard i < parts.count else { return nil }
            let part = parts[i]
            switch segment {
            case .literal(let text): guard part == text else { return nil }
            case .string(let name):
                guard !part.isEmpty else { return nil }
                params[name] = String(part)
            case .int(let name):
                guard Int(part) != nil else { return nil }
                params[name] = String(part)
            case .path: break
            }
        }
        return segments.count == parts.count ? params : nil
    }
}

public typealias Handler = @Sendable (Request) throws -> Response
