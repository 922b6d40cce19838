import Runner
import SuiteKit
import Suites
import Testing

/// Connection levels come from the run when it names them, else from the
/// workload, else from its suite, else the default.
@Suite("connection levels per workload")
struct ConnectionLevelTests {
    static func levels(_ plan: RunPlan, _ workload: String) throws -> [Int] {
        let loadCase = try #require(DatabaseSuite.contract.cases.first { $0.name == workload })
        return plan.modes(for: .http1, suite: DatabaseSuite.contract, loadCase: loadCase).map(\.connections)
    }

    @Test("the database suite's pool workloads run at 16, 64 and 256, its others at the run's default")
    func perWorkload() throws {
        let plan = RunPlan()
        #expect(try Self.levels(plan, "db") == [16, 64, 256])
        #expect(try Self.levels(plan, "queries-20") == [16, 64, 256])
        #expect(try Self.levels(plan, "transfer") == plan.connectionLevels)
    }

    @Test("levels the run names override the workload's")
    func runOverrides() throws {
        var plan = RunPlan()
        plan.connectionLevels = [8]
        plan.connectionLevelsGiven = true
        #expect(try Self.levels(plan, "db") == [8])
        #expect(try Self.levels(plan, "updates-1") == [8])
    }
}
