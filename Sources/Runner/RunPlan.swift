import Peers
import SuiteKit
import Suites

/// What `catbench run` measures and how.
public struct RunPlan: Sendable {
    public var suites: [String] = Catalog.defaultSuites
    public var stacks: [StackName] = StackName.allCases
    /// External servers measured after the stacks, on the same contract.
    public var peers: [PeerSpec] = []
    /// Peers asked for that cannot run here, with the reason (reported as failed to start).
    public var unavailablePeers: [(name: String, reason: String)] = []
    /// Seconds an external server has, once started, to answer correctly.
    public var startTimeout: Double = 60
    /// Where external servers' logs are kept.
    public var logDirectory: String = "catbench-results/logs"
    /// Seconds of load per repetition.
    public var duration: Double = 1
    /// Seconds of load before the measured repetitions of each workload.
    public var warmup: Double = 0.5
    public var repetitions: Int = 3
    /// Connection levels; each is measured (the first is the headline).
    public var connectionLevels: [Int] = [64]
    /// False: a suite with levels of its own (async-ops: 1, 64, 256) uses them.
    public var connectionLevelsGiven = false
    /// Extra axes, measured beside the headline and labelled as such, never
    /// mixed into it: HTTP/1.1 pipelining depth, a connection per request,
    /// an open-loop rate.
    public var pipeline: Int?
    public var connectionPerRequest = false
    public var rate: Double?
    /// Protocols measured; HTTP/2 rows use `streams` streams per connection.
    public var protocols: [WireProtocol] = [.http1]
    public var streams: Int = 10
    public var loadThreads: Int = 1
    /// Worker threads or event loops of every server.
    public var workers: Int = 1
    /// Pin server threads and load threads to separate CPUs when there are two or more.
    public var pin: Bool = true
    public var timeout: Double = 2
    /// Distinct randomized requests per workload.
    public var requestVariants: Int = 1024
    /// Check one answer in this many fully during the load.
    public var verifyEvery: Int = 64
    public var seed: UInt64 = 20261129
    public var host: String = "127.0.0.1"
    /// The embedded stacks count every answer for Prometheus (/metrics) while
    /// measured: off by default, as it adds work to the routes being measured.
    public var serverMetrics = false
    /// The certificate and key the TLS instances serve; nil: a self-signed one made at start.
    public var tls: TLSMaterial?
    /// Verify every server and stop: nothing is measured.
    public var verifyOnly = false
    /// Told of every answer of every embedded server (tests add known work to every handler with it).
    public var serverObserver: (any RouteObserving)?

    public init() {}

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public func validate() throws {
        guard duration > 0, duration <= 3600 else {
            throw Invalid(description: "--duration must be within 0…3600 seconds")
        }
        guard warmup >= 0, warmup <= 600 else { throw Invalid(description: "--warmup must be within 0…600 seconds") }
        guard (1...100).contains(repetitions) else { throw Invalid(description: "--repeat must be within 1…100") }
        guard !connectionLevels.isEmpty, connectionLevels.allSatisfy({ (1...100_000).contains($0) }) else {
            throw Invalid(description: "--connections must be within 1…100000")
        }
        guard Set(connectionLevels).count == connectionLevels.count else {
            throw Invalid(description: "--connections lists a level twice")
        }
        guard (1...256).contains(loadThreads) else { throw Invalid(description: "--threads must be within 1…256") }
        guard connectionLevels.allSatisfy({ loadThreads <= $0 }) else {
            throw Invalid(description: "--threads must not exceed --connections")
        }
        if let pipeline {
            guard (2...256).contains(pipeline) else { throw Invalid(description: "--pipeline must be within 2…256") }
        }
        if let rate {
            guard rate > 0 && rate <= 10_000_000 else {
                throw Invalid(description: "--rate must be within 0…10,000,000 requests/s")
            }
        }
        guard startTimeout > 0, startTimeout <= 3600 else {
            throw Invalid(description: "--start-timeout must be within 0…3600 seconds")
        }
        guard (1...256).contains(workers) else { throw Invalid(description: "--workers must be within 1…256") }
        guard !stacks.isEmpty || !peers.isEmpty || !unavailablePeers.isEmpty else {
            throw Invalid(description: "no server to run")
        }
        var names = Set(stacks.map(\.rawValue))
        for peer in peers where !names.insert(peer.name).inserted {
            throw Invalid(description: "two servers are named '\(peer.name)'; give each peer its own name")
        }
        guard !protocols.isEmpty else { throw Invalid(description: "no protocol to measure") }
        guard (1...1000).contains(streams) else { throw Invalid(description: "--streams must be within 1…1000") }
        for suite in suites where Catalog.named(suite) == nil {
            throw Invalid(
                description: "unknown suite '\(suite)'; known suites: \(Catalog.names.joined(separator: ", "))")
        }
        let contracts = suites.compactMap { Catalog.named($0)?.contract }
        guard Set(contracts.map(\.name)).count == contracts.count else {
            throw Invalid(description: "--suite names a suite twice")
        }
        for peer in peers {
            let declared = Exclusions(reasons: peer.notApplicable, waivers: peer.waivers)
            if let unknown = declared.unknownKeys(in: Catalog.contracts, workloadsOnly: true).first {
                throw Invalid(
                    description: "peer \(peer.name) declares '\(unknown)', which names no suite, workload or aspect")
            }
        }
    }

    /// The ways of loading a workload over `proto`: the connection levels,
    /// and for cleartext HTTP/1.1 the extra axes (pipelining, connection per
    /// request, open loop).
    public func modes(for proto: WireProtocol, suite: SuiteContract? = nil, loadCase: LoadCase? = nil) -> [LoadMode] {
        let levels =
            connectionLevelsGiven
            ? connectionLevels : (loadCase?.connectionLevels ?? suite?.connectionLevels ?? connectionLevels)
        guard proto == .http1 else {
            return levels.map { LoadMode(connections: $0, streams: proto.isHTTP2 ? streams : 1) }
        }
        var modes = levels.map { LoadMode(connections: $0) }
        let c = levels[0]
        if let pipeline { modes.append(LoadMode(connections: c, pipeline: pipeline)) }
        if connectionPerRequest { modes.append(LoadMode(connections: c, keepAlive: false)) }
        if let rate { modes.append(LoadMode(connections: c, rate: rate)) }
        return modes
    }

    /// Every way of loading a workload this plan measures over HTTP/1.1, headline first.
    public var modes: [LoadMode] { modes(for: .http1) }

    /// CPUs for the server and for the load generator: separate halves of the
    /// available CPUs, or nil (no pinning) with fewer than two.
    public func cpuSplit(available: [Int]) -> (server: [Int]?, load: [Int]?) {
        guard pin, available.count >= 2 else { return (nil, nil) }
        let half = available.count / 2
        return (Array(available.prefix(half)), Array(available.suffix(from: half)))
    }
}

/// One way of putting load on a workload.
public struct LoadMode: Sendable, Equatable, Codable {
    public var connections: Int
    /// HTTP/2 streams in flight per connection.
    public var streams = 1
    public var pipeline = 1
    public var keepAlive = true
    /// Open loop at this many requests per second; nil is a closed loop.
    public var rate: Double?

    public init(connections: Int, streams: Int = 1, pipeline: Int = 1, keepAlive: Bool = true, rate: Double? = nil) {
        self.connections = connections
        self.streams = streams
        self.pipeline = pipeline
        self.keepAlive = keepAlive
        self.rate = rate
    }

    /// A short label for tables: `c64`, `c64 ×16`, `c64 close`, `c64 R5000`.
    public var label: String {
        var text = "c\(connections)"
        if streams > 1 { text += " m\(streams)" }
        if pipeline > 1 { text += " ×\(pipeline)" }
        if !keepAlive { text += " close" }
        if let rate { text += " R\(Int(rate))" }
        return text
    }
}

extension RunPlan {
    /// Seconds of load the plan holds (warm-ups and repetitions of every
    /// workload, mode and protocol a server will be measured on), for the
    /// progress display's estimate of the time left.
    public var plannedLoadSeconds: Double {
        guard !verifyOnly else { return 0 }
        let perMode = warmup + Double(repetitions) * duration
        var total = 0.0
        let known = contracts
        for stack in stacks {
            for proto in protocols where stack.serves(proto) {
                for suite in known {
                    for loadCase in suite.cases {
                        total += Double(modes(for: proto, suite: suite, loadCase: loadCase).count) * perMode
                    }
                }
            }
        }
        for peer in peers where protocols.contains(.http1) {
            for suite in known where peer.serves(suite.name) && peer.notApplicable[suite.name] == nil {
                let cases = suite.cases.filter { peer.notApplicable["\(suite.name)/\($0.name)"] == nil }
                for loadCase in cases {
                    total += Double(modes(for: .http1, suite: suite, loadCase: loadCase).count) * perMode
                }
            }
        }
        return total
    }
}

extension RunPlan {
    /// The plan's suites, their aliases resolved, in the plan's order.
    public var contracts: [SuiteContract] { suites.compactMap { Catalog.named($0)?.contract } }
}

extension StackName {
    /// Whether the design serves `proto` at all.
    func serves(_ proto: WireProtocol) -> Bool {
        (!proto.secure || speaksTLS) && (!proto.isHTTP2 || speaksHTTP2)
    }
}
