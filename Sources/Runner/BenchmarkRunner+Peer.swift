import Accounting
import Peers
import Posix
import Results
import SuiteKit
import Suites

extension BenchmarkRunner {
    /// One external server: started (or found running), verified suite by
    /// suite and workload by workload, measured over cleartext HTTP/1.1, stopped.
    func runPeer(_ peer: PeerSpec, serverCPUs: [Int]?, loadGroup: ThreadGroup, into doc: inout RunDocument) {
        backlogged = false
        var configuration = peer.configuration
        configuration["workers"] = String(plan.workers)
        configuration["host"] = peer.address?.host ?? plan.host
        configuration["protocols"] = "http/1.1"
        var record = ServerRecord(
            name: peer.name, kind: peer.kind.rawValue, design: peer.design, configuration: configuration,
            status: plan.verifyOnly ? .verified : .measured)
        let exclusions = Exclusions(reasons: peer.notApplicable, waivers: peer.waivers)
        // A variant (an ORM row) is run on the suites it serves only.
        let contracts = suites.map { $0.contract }.filter { peer.serves($0.name) }
        let spoken: [WireProtocol] = plan.protocols.contains(.http1) ? [.http1] : []
        notApplicable(
            peer.name, protocols: plan.protocols.filter { $0 != .http1 }, suites: contracts,
            reason: Self.cleartextOnly(peer.name), into: &doc)
        defer {
            if record.verification.contains(where: { !$0.passed }) && record.status.isGood {
                record.status = .failedVerification
            }
            doc.figures += SuiteFigures.derive(from: doc.measurements, server: peer.name, suites: suites)
            doc.servers.append(record)
        }
        log("\(peer.name): starting")
        progress.note("\(peer.name): starting")
        let server: ExternalServer
        do {
            server = try ExternalServer.start(
                peer, host: plan.host, workers: plan.workers, services: services,
                logDirectory: plan.logDirectory, cpus: serverCPUs,
                readyTimeout: plan.startTimeout, stop: stop)
        } catch {
            record.status = .failedToStart
            if let failure = error as? ExternalServer.StartFailure {
                record.error = failure.description
                record.logTail = failure.logTail
                record.logPath = peer.kind == .running ? nil : "\(plan.logDirectory)/\(peer.name).log"
                log("\(peer.name): failed to start: \(failure.description)" + (failure.logTail.map { "\n" + $0 } ?? ""))
            } else {
                record.error = "\(error)"
            }
            failed(
                peer.name, protocols: spoken, suites: contracts,
                reason: "the server did not start: \(record.error ?? "")",
                exclusions: exclusions, into: &doc)
            return
        }
        record.logPath = server.logPath
        record.startupSeconds = server.startupSeconds
        let idle = server.sample(proportional: true)
        record.rssIdleBytes = idle?.rssBytes
        record.pssIdleBytes = idle?.pssBytes
        if server.tree == nil {
            log("\(peer.name): its processes are not visible here; CPU and memory are not reported")
        }
        defer {
            let after = server.sample(proportional: true)
            record.rssAfterBytes = after?.rssBytes
            record.pssAfterBytes = after?.pssBytes
            if let gone = server.failure(), record.status.isGood || record.status == .failedVerification {
                record.status = .failedDuringRun
                record.error = record.error ?? gone
            }
            let ended = server.stop()
            if let ended { record.exit = "\(ended)" }
            if !record.status.isGood { record.logTail = server.logTail() }
        }

        var workloads: [String: [String]] = [:]
        for contract in contracts {
            if stop.load(ordering: .relaxed) { return }
            if let reason = exclusions.reasons[contract.name] {
                notApplicable(peer.name, protocols: spoken, suites: [contract], reason: reason, into: &doc)
                continue
            }
            for workload in contract.workloadNames {
                if let reason = exclusions.reason(suite: contract.name, item: workload) {
                    notApplicable(
                        peer.name, protocols: spoken, suites: [contract], only: workload, reason: reason, into: &doc)
                }
            }
            if let reason = unavailableSuites[contract.name] {
                failed(
                    peer.name, protocols: spoken, suites: [contract], reason: reason, exclusions: exclusions, into: &doc
                )
                continue
            }
            let passing = verify(
                peer.name, suite: contract, address: server.address, exclusions: exclusions, record: &record)
            workloads[contract.name] = passing
            for workload in contract.workloadNames
            where !passing.contains(workload)
                && exclusions.reason(suite: contract.name, item: workload) == nil
            {
                failed(
                    peer.name, protocols: spoken, suites: [contract], only: workload,
                    reason: "failed verification: \(firstFailure(record, suite: contract.name, workload: workload))",
                    into: &doc)
            }
            if let gone = server.failure() {
                record.status = .failedDuringRun
                record.error = "\(gone) during the verification of \(contract.name)"
                log("\(peer.name): \(record.error!)")
                return
            }
        }
        if plan.verifyOnly { return }
        if let died = measure(
            target(server, exclusions: exclusions), protocols: spoken, suites: contracts, workloads: workloads,
            loadGroup: loadGroup, record: &record, into: &doc)
        {
            record.status = .failedDuringRun
            record.error = died
        }
    }

    func target(_ external: ExternalServer, exclusions: Exclusions) -> Target {
        Target(
            name: external.spec.name, address: external.address, exclusions: exclusions, speaksHTTP2: false,
            checksProtocols: false,
            settle: {},
            read: {
                let sample = external.sample(proportional: true)
                return Counters(
                    cpuNanos: sample?.cpuNanos, allocations: nil, served: nil, rssBytes: sample?.rssBytes,
                    pssBytes: sample?.pssBytes)
            },
            memory: { proportional in
                let sample = external.sample(proportional: proportional)
                return (sample?.rssBytes, sample?.pssBytes)
            },
            failure: { external.failure() }, samplesMemoryDuringLoad: external.tree != nil)
    }
}
