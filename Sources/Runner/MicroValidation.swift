import Accounting
import SuiteKit
import Posix
import Suites

/// `catbench micro validation`: models validated per second on each stack's
/// mechanism, in-process, with allocations from the thread group's own arena.
/// The same payloads on every stack: a valid user with 1 item, one with 1000,
/// and an invalid one with nine failing fields.
public enum MicroValidation {
    public struct Row: Sendable, Codable {
        public let stack: String
        public let model: String
        public let iterations: Int
        public let modelsPerSecond: Double
        public let microsPerModel: Double
        public let allocationsPerModel: Double
    }

    public static func run(stacks: [StackName], iterations: Int, cpus: [Int]?) throws -> [Row] {
        let payloads: [(String, [UInt8], Int)] = [
            ("small", ValidationSuite.contract.checks[0].request.body, iterations),
            ("large", ValidationSuite.contract.checks[2].request.body, max(1, iterations / 200)),
            ("invalid", ValidationSuite.contract.checks[3].request.body, iterations),
        ]
        var rows: [Row] = []
        for stack in stacks {
            let validate = try ValidationMicroTarget.make(stack)
            let group = ThreadGroup(name: "micro-\(stack.rawValue)", cpus: cpus)
            let thread = try ThreadExecutor(name: "micro-validation", onThreadStart: { group.enter() })
            defer { thread.stop() }
            for (name, body, count) in payloads {
                let sample = thread.runBlocking { () -> MicroSample in
                    for _ in 0..<min(100, count) { _ = validate(body) }
                    Jemalloc.flushThreadCache()
                    let before = group.allocationCounters()
                    let start = Clock.monotonicNanos()
                    for _ in 0..<count { _ = validate(body) }
                    let elapsed = Clock.monotonicNanos() - start
                    Jemalloc.flushThreadCache()
                    let after = group.allocationCounters()
                    return MicroSample(nanos: elapsed, allocations: before.flatMap { b in after.map { $0 - b } })
                }
                let n = Double(count)
                rows.append(
                    Row(
                        stack: stack.rawValue, model: name, iterations: count,
                        modelsPerSecond: n / (Double(sample.nanos) / 1e9),
                        microsPerModel: Double(sample.nanos) / 1000 / n,
                        allocationsPerModel: Double(sample.allocations?.allocations ?? 0) / n))
            }
        }
        return rows
    }
}
