import Accounting
import Posix
import SuiteKit
import Suites

/// `catbench micro di`: the time (wall clock, so that waiting for an async
/// factory on another thread counts) and allocations of one resolution, per
/// scope and per stack, measured in-process on threads of a thread group (its
/// own arena, its own CPU), with the same workload on every stack.
public enum MicroDI {
    public struct Row: Sendable, Codable {
        public let stack: String
        public let resolution: String
        public let iterations: Int
        public let nanosPerResolution: Double
        public let allocationsPerResolution: Double
        public let bytesPerResolution: Double
    }

    public static func run(stacks: [StackName], iterations: Int, cpus: [Int]?) throws -> [Row] {
        var rows: [Row] = []
        for stack in stacks {
            let group = ThreadGroup(name: "micro-\(stack.rawValue)", cpus: cpus)
            // Two threads of the group: one runs the measured loop, the other the
            // async factories a sync container waits for (as a server's would).
            let measuring = try ThreadExecutor(name: "micro-di", onThreadStart: { group.enter() })
            let bridge = try ThreadExecutor(name: "micro-bridge", onThreadStart: { group.enter() })
            defer {
                measuring.stop()
                bridge.stop()
            }
            let target = try DIMicroTarget.make(stack, bridge: bridge)
            for kind in DIResolution.allCases {
                // The whole loop runs on the group's thread; a warm-up first.
                let measured = measuring.runBlocking { () -> MicroSample in
                    if target.isAsync {
                        for _ in 0..<min(1000, iterations) { await target.resolve(kind) }
                    } else {
                        for _ in 0..<min(1000, iterations) { target.resolveNow(kind) }
                    }
                    Jemalloc.flushThreadCache()
                    let before = group.allocationCounters()
                    let start = Clock.monotonicNanos()
                    if target.isAsync {
                        for _ in 0..<iterations { await target.resolve(kind) }
                    } else {
                        for _ in 0..<iterations { target.resolveNow(kind) }
                    }
                    let elapsed = Clock.monotonicNanos() - start
                    Jemalloc.flushThreadCache()
                    let after = group.allocationCounters()
                    return MicroSample(nanos: elapsed, allocations: before.flatMap { b in after.map { $0 - b } })
                }
                let n = Double(iterations)
                rows.append(
                    Row(
                        stack: stack.rawValue, resolution: kind.rawValue, iterations: iterations,
                        nanosPerResolution: Double(measured.nanos) / n,
                        allocationsPerResolution: Double(measured.allocations?.allocations ?? 0) / n,
                        bytesPerResolution: Double(measured.allocations?.bytes ?? 0) / n))
            }
        }
        return rows
    }
}

struct MicroSample: Sendable {
    let nanos: UInt64
    let allocations: AllocationCounters?
}
