/// A feature category of the benchmark: what every server must answer, how it
/// is checked, and what the load sends. One definition serves every server.
public struct Suite: Sendable {
    public let name: String
    public let summary: String
    /// Routes a server implements for this suite, for people writing one.
    public let routes: [RouteDescription]
    /// Measured workloads, each with randomized request variants.
    public let cases: [LoadCase]
    /// Requests that are only verified, never measured (error paths, edge cases).
    public let checks: [NamedRequest]
    /// Checks that take several requests in order (state: counts, limits).
    public let scenarios: [Scenario]
    /// Connection levels this suite is measured at unless a run asks for others.
    public let connectionLevels: [Int]?

    public init(name: String, summary: String, routes: [RouteDescription], cases: [LoadCase], checks: [NamedRequest],
                scenarios: [Scenario] = [], connectionLevels: [Int]? = nil) {
        self.connectionLevels = connectionLevels
        self.name = name
        self.summary = summary
        self.routes = routes
        self.cases = cases
        self.checks = checks
        self.scenarios = scenarios
    }

    /// Every suite catbench knows, by name.
    public static let all: [Suite] = [BasicSuite.suite, MiddlewareSuite.suite, DISuite.suite, ValidationSuite.suite, AsyncOpsSuite.suite]

    public static func named(_ name: String) -> Suite? { all.first { $0.name == name } }
}

public struct RouteDescription: Sendable, Codable {
    public let method: String
    public let path: String
    public let answer: String

    public init(method: String, path: String, answer: String) {
        self.method = method
        self.path = path
        self.answer = answer
    }
}

/// A measured workload: a family of requests of one kind.
public struct LoadCase: Sendable {
    public let name: String
    public let summary: String
    private let generate: @Sendable (inout SeededRandom) -> RequestSpec

    public init(name: String, summary: String, generate: @escaping @Sendable (inout SeededRandom) -> RequestSpec) {
        self.name = name
        self.summary = summary
        self.generate = generate
    }

    /// `count` request variants drawn deterministically from `seed`.
    public func requests(seed: UInt64, count: Int) -> [RequestSpec] {
        var random = SeededRandom(seed: seed ^ UInt64(truncatingIfNeeded: name.hashValueStable))
        return (0..<count).map { _ in generate(&random) }
    }
}

/// A check made of several requests on one connection; returns what is wrong.
public struct Scenario: Sendable {
    public let name: String
    public let run: @Sendable (ProbeClient) throws -> [String]

    public init(_ name: String, _ run: @escaping @Sendable (ProbeClient) throws -> [String]) {
        self.name = name
        self.run = run
    }
}

public struct NamedRequest: Sendable {
    public let name: String
    public let request: RequestSpec

    /// The load case this check belongs to: a server that cannot serve the
    /// case (declared not applicable) is not checked on it either.
    public let caseName: String?

    public init(_ name: String, _ request: RequestSpec, case caseName: String? = nil) {
        self.name = name
        self.request = request
        self.caseName = caseName
    }
}

extension String {
    /// FNV-1a of the UTF-8 bytes: stable across runs, unlike `hashValue`.
    var hashValueStable: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in utf8 {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        return h
    }
}
