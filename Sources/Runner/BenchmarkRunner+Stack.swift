import Accounting
import Posix
import Results
import SuiteKit
import Suites

extension BenchmarkRunner {
    /// A started server, with the thread group that counts its allocations and CPU.
    struct Instance {
        let server: EmbeddedServer
        let group: ThreadGroup
        let address: SocketAddress
        let startup: Double
    }

    /// One embedded stack: its cleartext instance (verified, then measured
    /// over the cleartext protocols), then a TLS instance for the TLS ones.
    func runStack(_ stack: StackName, serverCPUs: [Int]?, loadGroup: ThreadGroup, into doc: inout RunDocument) {
        backlogged = false
        var record = ServerRecord(
            name: stack.rawValue, kind: "embedded", design: stack.design,
            configuration: ["workers": String(plan.workers), "host": plan.host, "protocols": stack.protocolNames],
            status: plan.verifyOnly ? .verified : .measured)
        defer {
            if record.verification.contains(where: { !$0.passed }) && record.status.isGood {
                record.status = .failedVerification
            }
            doc.figures += SuiteFigures.derive(from: doc.measurements, server: stack.rawValue, suites: suites)
            doc.servers.append(record)
        }
        let spoken = plan.protocols.filter { stack.serves($0) }
        let cleartext = spoken.filter { !$0.secure }
        let secure = spoken.filter(\.secure)
        let contracts = suites.map { $0.contract }
        notApplicable(
            stack.rawValue, protocols: plan.protocols.filter { !stack.serves($0) }, suites: contracts,
            reason: Self.cleartextOnly(stack.rawValue), into: &doc)

        guard let clear = startInstance(stack, tls: nil, serverCPUs: serverCPUs) else {
            record.status = .failedToStart
            record.error = lastStartError
            failed(
                stack.rawValue, protocols: spoken, suites: contracts,
                reason: "the server did not start: \(lastStartError ?? "")",
                into: &doc)
            return
        }
        record.startupSeconds = clear.startup
        record.rssIdleBytes = ProcessStats.residentBytes()
        record.pssIdleBytes = ProcessStats.proportionalBytes()
        var workloads: [String: [String]] = [:]
        for contract in contracts {
            if let reason = unavailableSuites[contract.name] {
                failed(stack.rawValue, protocols: spoken, suites: [contract], reason: reason, into: &doc)
                continue
            }
            let passing = verify(
                stack.rawValue, suite: contract, address: clear.address, exclusions: Exclusions(), record: &record)
            workloads[contract.name] = passing
            let failing = contract.workloadNames.filter { !passing.contains($0) }
            for workload in failing {
                failed(
                    stack.rawValue, protocols: spoken, suites: [contract], only: workload,
                    reason: "failed verification: \(firstFailure(record, suite: contract.name, workload: workload))",
                    into: &doc)
            }
        }
        if plan.verifyOnly {
            clear.server.stop()
            return
        }
        measure(
            target(clear), protocols: cleartext, suites: contracts, workloads: workloads, loadGroup: loadGroup,
            record: &record, into: &doc)
        clear.server.stop()

        if !secure.isEmpty && !stop.load(ordering: .relaxed) {
            do {
                let material = try plan.tls ?? TLSMaterial.selfSigned()
                if let tls = startInstance(stack, tls: material, serverCPUs: serverCPUs) {
                    measure(
                        target(tls), protocols: secure, suites: contracts, workloads: workloads, loadGroup: loadGroup,
                        record: &record, into: &doc)
                    tls.server.stop()
                } else {
                    record.error = "the TLS instance did not start: \(lastStartError ?? "")"
                    failed(
                        stack.rawValue, protocols: secure, workloads: workloads, suites: contracts,
                        reason: record.error!,
                        into: &doc)
                }
            } catch {
                record.error = "no certificate for the TLS instance: \(error)"
                failed(
                    stack.rawValue, protocols: secure, workloads: workloads, suites: contracts, reason: record.error!,
                    into: &doc)
            }
        }
        record.rssAfterBytes = ProcessStats.residentBytes()
        record.pssAfterBytes = ProcessStats.proportionalBytes()
    }

    /// The first failure that kept `workload` from being measured.
    func firstFailure(_ record: ServerRecord, suite: String, workload: String) -> String {
        guard let v = record.verification.last(where: { $0.suite == suite }) else { return "" }
        return v.failures.first.map { "\($0.check): \($0.message)" } ?? ""
    }

    func startInstance(_ stack: StackName, tls: TLSMaterial?, serverCPUs: [Int]?) -> Instance? {
        // A group per server: its own arena and a fresh list of thread clocks.
        let group = ThreadGroup(name: stack.rawValue, cpus: serverCPUs)
        let started = Clock.monotonicNanos()
        do {
            let server = try startServer(
                stack, suites: suites,
                settings: ServerSettings(
                    host: plan.host, port: 0, workers: plan.workers, h2c: stack.speaksHTTP2, tls: tls,
                    services: services,
                    metrics: plan.serverMetrics, observer: plan.serverObserver, onThreadStart: { group.enter() }))
            let address = try SocketAddress(host: plan.host, port: server.port)
            lastStartError = nil
            return Instance(
                server: server, group: group, address: address, startup: Double(Clock.monotonicNanos() - started) / 1e9)
        } catch {
            lastStartError = "\(error)"
            log("\(stack.rawValue): failed to start\(tls == nil ? "" : " with TLS"): \(error)")
            return nil
        }
    }

    func target(_ instance: Instance) -> Target {
        let server = instance.server
        let group = instance.group
        return Target(
            name: server.stack.rawValue, address: instance.address, exclusions: Exclusions(),
            speaksHTTP2: server.stack.speaksHTTP2,
            checksProtocols: true,
            settle: { server.runOnServerThreads { Jemalloc.flushThreadCache() } },
            read: {
                Counters(
                    cpuNanos: group.cpuNanos(), allocations: group.allocationCounters(), served: server.requestsServed,
                    rssBytes: ProcessStats.residentBytes(), pssBytes: ProcessStats.proportionalBytes())
            },
            memory: { proportional in
                (ProcessStats.residentBytes(), proportional ? ProcessStats.proportionalBytes() : nil)
            },
            failure: { nil }, samplesMemoryDuringLoad: false)
    }
}

extension ServerRecord.Status {
    /// Measured, or verified in a verify-only run.
    var isGood: Bool { self == .measured || self == .verified }
}
