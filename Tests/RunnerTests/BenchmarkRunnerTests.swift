import Accounting
import Atomics
import Results
import Runner
import SuiteKit
import Suites
import Testing

@Suite("benchmark runner", .serialized)
struct BenchmarkRunnerTests {
    static func shortPlan(_ stacks: [StackName]) -> RunPlan {
        var plan = RunPlan()
        plan.stacks = stacks
        plan.duration = 0.3
        plan.warmup = 0.1
        plan.repetitions = 2
        plan.connectionLevels = [8]
        return plan
    }

    @Test(
        "a short run measures every workload of every stack with the server-side figures",
        .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out"))
    func shortRun() throws {
        let runner = BenchmarkRunner(plan: Self.shortPlan(StackName.allCases)) { _ in }
        let doc = try runner.run()
        #expect(!doc.partial)
        #expect(doc.servers.map(\.name) == ["ccore", "async", "threaded"])
        #expect(doc.servers.allSatisfy { $0.status == .measured })
        #expect(doc.measurements.count == 3 * 4)
        for m in doc.measurements {
            #expect(m.repetitions.count == 2)
            for rep in m.repetitions {
                #expect(rep.requests > 0)
                #expect(rep.errors.total == 0)
                #expect(rep.wrongAnswers == 0)
                // The load generator's count and the server's agree exactly.
                #expect(rep.serverRequests == rep.requests, "\(m.server)/\(m.workload)")
                #expect(rep.allocationsPerRequest != nil)
                #expect(rep.bytesPerRequest != nil)
                #expect((rep.serverCpuUsPerRequest ?? 0) > 0)
            }
            #expect(m.median != nil)
        }
        // The async design allocates per request (a task, buffers, Codable); the
        // C core answering plaintext from reused buffers should not.
        let plaintext = { (server: String) in
            doc.measurements.first { $0.server == server && $0.workload == "plaintext" }!.median!
        }
        #expect(plaintext("async").allocationsPerRequest! > plaintext("ccore").allocationsPerRequest!)
        #expect(plaintext("ccore").allocationsPerRequest! < 1)
    }

    @Test("the result document survives a JSON round trip and renders as a table")
    func roundTrip() throws {
        var plan = Self.shortPlan([.ccore])
        plan.repetitions = 1
        let doc = try BenchmarkRunner(plan: plan) { _ in }.run()
        let bytes = try ResultsJSON.encode(doc)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.contains("\"schema\" : \"catbench.result\""))
        // Allocation counts are there unless a sanitizer build left jemalloc out.
        #expect(text.contains("\"allocations_per_request\"") != Jemalloc.leftOutBySanitizers)
        let back = try ResultsJSON.decode(bytes)
        #expect(back.measurements.count == doc.measurements.count)
        #expect(
            back.measurements.first?.repetitions.first?.requests == doc.measurements.first?.repetitions.first?.requests)
        let table = TableRenderer.render(back)
        #expect(table.contains("plaintext"))
        #expect(table.contains("req/s"))
    }

    @Test("a run stopped from outside returns partial results")
    func stopped() throws {
        let stop = ManagedAtomic<Bool>(true)
        let doc = try BenchmarkRunner(plan: Self.shortPlan([.ccore]), stop: stop) { _ in }.run()
        #expect(doc.partial)
        #expect(doc.partialReason != nil)
    }

    @Test("bad plans are refused with a message")
    func invalidPlans() {
        var plan = RunPlan()
        plan.suites = ["nope"]
        #expect(throws: RunPlan.Invalid.self) { try plan.validate() }
        plan = RunPlan()
        plan.connectionLevels = [0]
        #expect(throws: RunPlan.Invalid.self) { try plan.validate() }
        plan = RunPlan()
        plan.duration = 0
        #expect(throws: RunPlan.Invalid.self) { try plan.validate() }
    }

    @Test("servers and load generator get separate halves of the CPUs")
    func cpuSplit() {
        let plan = RunPlan()
        #expect(plan.cpuSplit(available: [0, 1]).server == [0])
        #expect(plan.cpuSplit(available: [0, 1]).load == [1])
        #expect(plan.cpuSplit(available: [0]).server == nil)
        var unpinned = RunPlan()
        unpinned.pin = false
        #expect(unpinned.cpuSplit(available: [0, 1, 2, 3]).server == nil)
    }

    @Test("medians are taken metric by metric")
    func medians() {
        #expect(median([3, 1, 2]) == 2)
        #expect(median([4, 1, 2, 3]) == 2.5)
        #expect(median([]) == 0)
    }
}

@Suite("benchmark runner protocols", .serialized)
struct RunnerProtocolTests {
    @Test("HTTP/2 and TLS rows are measured where the design speaks them and n/a where it does not")
    func protocolsAxis() throws {
        var plan = BenchmarkRunnerTests.shortPlan([.ccore, .threaded])
        plan.repetitions = 1
        plan.protocols = [.http1, .h2c, .https1, .h2]
        let doc = try BenchmarkRunner(plan: plan) { _ in }.run()
        let ccore = doc.measurements.filter { $0.server == "ccore" }
        #expect(Set(ccore.map(\.protocolName)) == ["http/1.1", "h2c", "http/1.1+tls", "h2"])
        #expect(ccore.allSatisfy { $0.notApplicable == nil && $0.repetitions.count == 1 })
        for m in ccore {
            let rep = m.repetitions[0]
            #expect(rep.errors.total == 0 && rep.wrongAnswers == 0, "\(m.protocolName)/\(m.workload)")
            #expect(rep.serverRequests == rep.requests, "\(m.protocolName)/\(m.workload)")
        }
        let threaded = doc.measurements.filter { $0.server == "threaded" }
        let spoken = threaded.filter { $0.protocolName == "http/1.1" || $0.protocolName == "http/1.1+tls" }
        #expect(spoken.count == 8)
        #expect(spoken.allSatisfy { $0.notApplicable == nil && $0.failure == nil && !$0.repetitions.isEmpty })
        for m in spoken where m.protocolName == "http/1.1+tls" {
            #expect(
                m.repetitions[0].errors.total == 0 && m.repetitions[0].serverRequests == m.repetitions[0].requests,
                "\(m.workload)")
        }
        let missing = threaded.filter { !spoken.map(\.protocolName).contains($0.protocolName) }
        #expect(missing.count == 8)
        #expect(missing.allSatisfy { $0.notApplicable != nil && $0.repetitions.isEmpty })
        #expect(TableRenderer.render(doc).contains("n/a"))
    }
}

@Suite("micro benchmarks", .serialized)
struct MicroBenchmarkTests {
    @Test(
        "micro di measures every scope on every stack, and the allocations follow the scopes",
        .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out"))
    func microDI() throws {
        let rows = try MicroDI.run(stacks: StackName.allCases, iterations: 2000, cpus: nil)
        #expect(rows.count == StackName.allCases.count * DIResolution.allCases.count)
        for stack in StackName.allCases {
            func row(_ kind: DIResolution) -> MicroDI.Row {
                rows.first { $0.stack == stack.rawValue && $0.resolution == kind.rawValue }!
            }
            // A cached instance or a warm singleton costs no allocation; a fresh
            // request makes at least Logger and RequestContext; the graph makes more.
            #expect(row(.singleton).allocationsPerResolution < 0.5, "\(stack)")
            #expect(row(.cached).allocationsPerResolution < 0.5, "\(stack)")
            #expect(row(.request).allocationsPerResolution >= 2, "\(stack)")
            #expect(row(.transient).allocationsPerResolution >= 1, "\(stack)")
            #expect(row(.graph).allocationsPerResolution > row(.request).allocationsPerResolution, "\(stack)")
            #expect(rows.filter { $0.stack == stack.rawValue }.allSatisfy { $0.nanosPerResolution > 0 })
        }
    }
}

@Suite("micro validation", .serialized)
struct MicroValidationTests {
    @Test(
        "micro validation runs every model on every stack; the large model costs more than the small one",
        .enabled(if: !Jemalloc.leftOutBySanitizers, "sanitizer builds leave jemalloc out"))
    func microValidation() throws {
        let rows = try MicroValidation.run(stacks: StackName.allCases, iterations: 400, cpus: nil)
        #expect(rows.count == StackName.allCases.count * 3)
        for stack in StackName.allCases {
            func row(_ model: String) -> MicroValidation.Row {
                rows.first { $0.stack == stack.rawValue && $0.model == model }!
            }
            #expect(row("small").modelsPerSecond > 0)
            #expect(row("large").microsPerModel > row("small").microsPerModel * 10, "\(stack)")
            #expect(row("large").allocationsPerModel > row("small").allocationsPerModel, "\(stack)")
        }
    }
}
