/// A feature category of the benchmark as every server meets it: the routes,
/// the measured workloads and the checks made before (and sampled during) the
/// load. One contract serves every server, embedded or external.
public struct SuiteContract: Sendable {
    public let name: String
    /// Other names the suite answers to on the command line (an old name, say).
    public let aliases: [String]
    public let summary: String
    /// Routes a server implements for this suite, for people writing one.
    public let routes: [RouteDescription]
    /// Measured workloads, each with randomized request variants.
    public let cases: [LoadCase]
    /// Requests that are only verified, never measured (error paths, edge cases).
    public let checks: [NamedRequest]
    /// Checks that take several requests in order (state, counts, timing from outside).
    public let scenarios: [Scenario]
    /// Connection levels this suite is measured at unless a run asks for others.
    public let connectionLevels: [Int]?
    /// Parts of checks a framework may declare it cannot express (a waiver
    /// names one), by name, with what the part checks. A waiver never covers
    /// a status or the meaning of an answer.
    public let aspects: [String: String]
    /// The workload the others are compared against within a server (the
    /// bare endpoint of the middleware suite), and the report column that
    /// shows the difference.
    public let baseline: SuiteBaseline?
    /// Facts a reader of the report needs (SQLite has one writer, …).
    public let notes: [String]
    /// What must hold after a workload's load (balances summed, none below
    /// zero): a broken invariant fails that measurement's row.
    public let invariants: [Invariant]
    /// The most connections to the suite's services a server of `workers`
    /// workers may hold (its declared pool), which an observing service
    /// checks during the load; nil when the suite sets none.
    public let poolLimit: (@Sendable (Int) -> Int)?

    public init(
        name: String, aliases: [String] = [], summary: String, routes: [RouteDescription], cases: [LoadCase],
        checks: [NamedRequest], scenarios: [Scenario] = [], connectionLevels: [Int]? = nil,
        aspects: [String: String] = [:], baseline: SuiteBaseline? = nil, notes: [String] = [],
        invariants: [Invariant] = [], poolLimit: (@Sendable (Int) -> Int)? = nil
    ) {
        self.name = name
        self.aliases = aliases
        self.summary = summary
        self.routes = routes
        self.cases = cases
        self.checks = checks
        self.scenarios = scenarios
        self.connectionLevels = connectionLevels
        self.aspects = aspects
        self.baseline = baseline
        self.notes = notes
        self.invariants = invariants
        self.poolLimit = poolLimit
    }

    /// The invariants that judge `workload`'s load.
    public func invariants(after workload: String) -> [Invariant] {
        invariants.filter { $0.workloads.isEmpty || $0.workloads.contains(workload) }
    }

    /// True for the suite's name and its aliases.
    public func answers(to name: String) -> Bool { self.name == name || aliases.contains(name) }

    /// The names of the measured workloads, in order.
    public var workloadNames: [String] { cases.map(\.name) }
}

/// The workload a suite's other workloads are compared against, and the column title.
public struct SuiteBaseline: Sendable, Codable, Equatable {
    public var workload: String
    public var column: String

    public init(workload: String, column: String) {
        self.workload = workload
        self.column = column
    }
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
    /// Connection levels of this workload alone (the database suite's pools
    /// at 16, 64 and 256), unless a run asks for others; nil: the suite's.
    public let connectionLevels: [Int]?
    private let generate: @Sendable (inout SeededRandom) -> RequestSpec

    public init(
        name: String, summary: String, connectionLevels: [Int]? = nil,
        generate: @escaping @Sendable (inout SeededRandom) -> RequestSpec
    ) {
        self.name = name
        self.summary = summary
        self.connectionLevels = connectionLevels
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
    /// The workloads whose measurement depends on this check; empty: all of the suite's.
    public let workloads: [String]
    public let run: @Sendable (ScenarioContext) throws -> [String]

    public init(
        _ name: String, workloads: [String] = [], _ run: @escaping @Sendable (ScenarioContext) throws -> [String]
    ) {
        self.name = name
        self.workloads = workloads
        self.run = run
    }
}

/// A fact checked after the load of its workloads, from the run's services
/// (the database's own tables): what a load may not break. Returns what is wrong.
public struct Invariant: Sendable {
    public let name: String
    /// The workloads whose load it judges; empty: all of the suite's.
    public let workloads: [String]
    public let check: @Sendable (ServiceDirectory?) throws -> [String]

    public init(
        _ name: String, workloads: [String] = [], _ check: @escaping @Sendable (ServiceDirectory?) throws -> [String]
    ) {
        self.name = name
        self.workloads = workloads
        self.check = check
    }
}

/// What a scenario works with: a client of the server under test, and the
/// run's services (the upstream, …), whose own records are the ground truth.
public struct ScenarioContext {
    public let client: ProbeClient
    public let services: ServiceDirectory?

    public init(client: ProbeClient, services: ServiceDirectory?) {
        self.client = client
        self.services = services
    }
}

/// A request that is only verified, with the workloads it qualifies.
public struct NamedRequest: Sendable {
    public let name: String
    public let request: RequestSpec
    /// The workloads whose measurement depends on this check (a server that
    /// cannot serve them, declared not applicable, is not checked on them
    /// either); empty: every workload of the suite.
    public let workloads: [String]

    public init(_ name: String, _ request: RequestSpec, workloads: [String]) {
        self.name = name
        self.request = request
        self.workloads = workloads
    }

    /// A check of one workload.
    public init(_ name: String, _ request: RequestSpec, case caseName: String) {
        self.init(name, request, workloads: [caseName])
    }

    /// A check every workload of the suite depends on.
    public init(_ name: String, _ request: RequestSpec) {
        self.init(name, request, workloads: [])
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
