import AsyncStack
import CCoreStack
import SuiteKit
import ThreadedStack

/// A suite as catbench runs it: its contract, the services its servers need
/// (started once per run), and the figures it derives from its measurements.
/// Each suite lives in one folder with its business logic and one
/// registration per stack.
public protocol SuiteDefinition {
    static var contract: SuiteContract { get }
    /// Services started before any server and stopped after the run.
    static var services: [any SuiteService.Type] { get }
    /// Figures derived from one server's medians, rendered by every report.
    static var figures: [FigureRule] { get }
}

extension SuiteDefinition {
    public static var services: [any SuiteService.Type] { [] }
    public static var figures: [FigureRule] { [] }
}

/// The suite's routes on the ccore stack, in that design's idiom.
public protocol CCoreSuite: SuiteDefinition {
    static func register(_ app: CCoreApp, _ context: SuiteContext) throws
}

/// The suite's routes on the async stack, in that design's idiom.
public protocol AsyncStackSuite: SuiteDefinition {
    static func register(_ app: AsyncApp, _ context: SuiteContext) throws
}

/// The suite's routes on the threaded stack, in that design's idiom.
public protocol ThreadedSuite: SuiteDefinition {
    static func register(_ app: ThreadedApp, _ context: SuiteContext) throws
}

/// What the catalog holds: a suite implemented on every stack. A suite
/// missing a stack does not compile into the catalog.
public typealias CatalogSuite = CCoreSuite & AsyncStackSuite & ThreadedSuite
