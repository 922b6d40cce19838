/// What a server declares it cannot do, each with the reason shown in the
/// report as "n/a": a whole suite (`"validation"`), a load case
/// (`"basic/user"`, which also covers the checks of that case), a check or a
/// scenario by name (`"middleware/the rate limit answers 429 with Retry-After"`).
public struct Exclusions: Sendable {
    public private(set) var reasons: [String: String]

    public init(reasons: [String: String] = [:]) {
        self.reasons = reasons
    }

    /// Keys given without a reason (the command line's `--skip`).
    public init(_ keys: [String]) {
        self.reasons = Dictionary(keys.map { ($0, "skipped on request") }, uniquingKeysWith: { a, _ in a })
    }

    public var isEmpty: Bool { reasons.isEmpty }

    public func excludesSuite(_ suite: String) -> Bool { reasons[suite] != nil }

    /// Why `item` (a case, check or scenario name) of `suite` does not apply, or nil when it does.
    public func reason(suite: String, item: String, caseName: String? = nil) -> String? {
        if let whole = reasons[suite] { return whole }
        if let own = reasons["\(suite)/\(item)"] { return own }
        if let caseName, let ofCase = reasons["\(suite)/\(caseName)"] { return ofCase }
        return nil
    }

    /// Keys that name nothing in the known suites: a typo would otherwise
    /// silently measure (or skip) the wrong thing.
    public func unknownKeys(in suites: [Suite] = Suite.all) -> [String] {
        reasons.keys.sorted().filter { key in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard let suite = suites.first(where: { $0.name == parts[0] }) else { return true }
            guard parts.count == 2 else { return false }
            let item = parts[1]
            return !(suite.cases.contains { $0.name == item } || suite.checks.contains { $0.name == item }
                     || suite.scenarios.contains { $0.name == item })
        }
    }
}
