/// What a server declares it cannot do, each with the reason shown in the
/// report:
/// - not applicable ("n/a"): a whole suite (`"validation"`) or a workload
///   (`"basic/user"`, which also covers the checks of that workload); the
///   command line's `verify --skip` may also name a check or a scenario;
/// - waived: one part of checks a framework cannot express, named by the
///   suite (`"validation/error-paths"`): the rest of each check — the status,
///   the meaning of the answer — still holds.
public struct Exclusions: Sendable {
    public private(set) var reasons: [String: String]
    public private(set) var waivers: [String: String]

    public init(reasons: [String: String] = [:], waivers: [String: String] = [:]) {
        self.reasons = reasons
        self.waivers = waivers
    }

    /// Keys given without a reason (the command line's `--skip`).
    public init(_ keys: [String]) {
        self.reasons = Dictionary(keys.map { ($0, "skipped on request") }, uniquingKeysWith: { a, _ in a })
        self.waivers = [:]
    }

    public var isEmpty: Bool { reasons.isEmpty && waivers.isEmpty }

    public func excludesSuite(_ suite: String) -> Bool { reasons[suite] != nil }

    /// Why `item` (a workload, check or scenario name) of `suite` does not
    /// apply, or nil when it does. A check of workloads that all do not apply
    /// does not apply either.
    public func reason(suite: String, item: String, workloads: [String] = []) -> String? {
        if let whole = reasons[suite] { return whole }
        if let own = reasons["\(suite)/\(item)"] { return own }
        let ofWorkloads = workloads.map { reasons["\(suite)/\($0)"] }
        if !ofWorkloads.isEmpty, ofWorkloads.allSatisfy({ $0 != nil }) { return ofWorkloads[0] }
        return nil
    }

    /// Why the aspect `aspect` of `suite`'s checks is waived, or nil.
    public func waiver(suite: String, aspect: String) -> String? { waivers["\(suite)/\(aspect)"] }

    /// Keys that name nothing in `suites`: a typo would otherwise silently
    /// measure (or skip) the wrong thing. With `workloadsOnly`, a not
    /// applicable key must name a suite or a workload (what a framework
    /// declares), not a check.
    public func unknownKeys(in suites: [SuiteContract], workloadsOnly: Bool = false) -> [String] {
        let badReasons = reasons.keys.sorted().filter { key in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard let suite = suites.first(where: { $0.name == parts[0] }) else { return true }
            guard parts.count == 2 else { return false }
            let item = parts[1]
            if suite.cases.contains(where: { $0.name == item }) { return false }
            if workloadsOnly { return true }
            return !(suite.checks.contains { $0.name == item } || suite.scenarios.contains { $0.name == item })
        }
        let badWaivers = waivers.keys.sorted().filter { key in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, let suite = suites.first(where: { $0.name == parts[0] }) else { return true }
            return suite.aspects[parts[1]] == nil
        }
        return badReasons + badWaivers
    }
}
