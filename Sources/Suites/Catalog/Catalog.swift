import SuiteKit

/// Every suite catbench knows, in the order runs and reports take them. The
/// runner, the command line, the reports and the tests read this list; adding
/// a suite adds its folder and one line here.
public enum Catalog {
    public static let suites: [any CatalogSuite.Type] = [
        BasicSuite.self,
        MiddlewareSuite.self,
        DISuite.self,
        ValidationSuite.self,
        AsyncOpsSuite.self,
        DatabaseSuite.self,
        FilesSuite.self,
    ]

    public static var contracts: [SuiteContract] { suites.map { $0.contract } }

    /// What a run, a server and a verification take when no suite is named.
    public static var defaultSuites: [String] { [BasicSuite.contract.name] }

    /// The suite called `name` (or by one of its aliases).
    public static func named(_ name: String) -> (any CatalogSuite.Type)? {
        suites.first { $0.contract.answers(to: name) }
    }

    /// The canonical names, for help texts.
    public static var names: [String] { contracts.map(\.name) }

    /// Canonical names for `names` (aliases resolved), or the error a user sees.
    public static func resolve(_ names: [String]) throws -> [any CatalogSuite.Type] {
        try names.map { name in
            guard let suite = named(name) else { throw UnknownSuite(name: name) }
            return suite
        }
    }

    /// The request whose correct answer says a server is up: every server
    /// implementing the contract serves the basic suite.
    public static var readinessRequest: RequestSpec { BasicSuite.readinessRequest }
}

public struct UnknownSuite: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "unknown suite '\(name)'; known suites: \(Catalog.names.joined(separator: ", "))" }
}
