/// The one document a run produces; every report is rendered from it.
/// Versioned: readers check `schema` and `schemaVersion` (see docs/results-schema.md).
public struct RunDocument: Codable, Sendable {
    public static let currentSchema = "catbench.result"
    public static let currentSchemaVersion = 3

    public var schema = RunDocument.currentSchema
    public var schemaVersion = RunDocument.currentSchemaVersion
    public var catbench: ToolInfo
    public var startedAt: String
    public var finishedAt: String
    /// True when the run was cut short (Ctrl-C, SIGTERM); `partialReason` says why.
    public var partial: Bool
    public var partialReason: String?
    public var machine: MachineRecord
    public var settings: SettingsRecord
    public var servers: [ServerRecord]
    public var measurements: [MeasurementRecord]
    /// Figures a suite derives from its measurements (cost per middleware layer, …).
    public var figures: [FigureRecord] = []
    /// What the run's suites declare for reports (schema v2): summaries,
    /// a baseline workload and its column, notes.
    public var suites: [SuiteRecord]?

    public init(catbench: ToolInfo, startedAt: String, machine: MachineRecord, settings: SettingsRecord) {
        self.catbench = catbench
        self.startedAt = startedAt
        finishedAt = startedAt
        partial = false
        self.machine = machine
        self.settings = settings
        servers = []
        measurements = []
    }
}

public struct ToolInfo: Codable, Sendable {
    public var version: String
    public var commit: String?
    public var libraries: [String: String]

    public init(version: String, commit: String?, libraries: [String: String]) {
        self.version = version
        self.commit = commit
        self.libraries = libraries
    }
}

public struct MachineRecord: Codable, Sendable {
    public var cpuModel: String
    public var logicalCpus: Int
    public var kernel: String
    public var memoryBytes: UInt64
    public var hostname: String
    public var loadAverageBefore: [Double]
    public var loadAverageAfter: [Double]

    public init(
        cpuModel: String, logicalCpus: Int, kernel: String, memoryBytes: UInt64, hostname: String,
        loadAverageBefore: [Double], loadAverageAfter: [Double]
    ) {
        self.cpuModel = cpuModel
        self.logicalCpus = logicalCpus
        self.kernel = kernel
        self.memoryBytes = memoryBytes
        self.hostname = hostname
        self.loadAverageBefore = loadAverageBefore
        self.loadAverageAfter = loadAverageAfter
    }
}

public struct SettingsRecord: Codable, Sendable {
    public var suites: [String]
    public var servers: [String]
    public var durationSeconds: Double
    public var warmupSeconds: Double
    public var repetitions: Int
    public var connections: Int
    public var loadThreads: Int
    public var workers: Int
    public var protocolName: String
    public var requestTimeoutSeconds: Double
    public var requestVariants: Int
    public var verifyEvery: Int
    public var seed: UInt64
    public var serverCpus: [Int]?
    public var loadCpus: [Int]?
    // Schema v2: how the run measured, beyond the headline (`connections` and
    // `protocol_name` above name only the first level and HTTP/1.1).
    /// Every connection level asked for with -c (nil: each suite's own levels, 64 or the async suite's 1, 64, 256).
    public var connectionLevels: [Int]?
    public var protocols: [String]?
    public var streams: Int?
    public var pipeline: Int?
    public var connectionPerRequest: Bool?
    public var rate: Double?
    public var pinned: Bool?
    public var startTimeoutSeconds: Double?

    public init(
        suites: [String], servers: [String], durationSeconds: Double, warmupSeconds: Double, repetitions: Int,
        connections: Int, loadThreads: Int, workers: Int, protocolName: String, requestTimeoutSeconds: Double,
        requestVariants: Int, verifyEvery: Int, seed: UInt64, serverCpus: [Int]?, loadCpus: [Int]?
    ) {
        self.suites = suites
        self.servers = servers
        self.durationSeconds = durationSeconds
        self.warmupSeconds = warmupSeconds
        self.repetitions = repetitions
        self.connections = connections
        self.loadThreads = loadThreads
        self.workers = workers
        self.protocolName = protocolName
        self.requestTimeoutSeconds = requestTimeoutSeconds
        self.requestVariants = requestVariants
        self.verifyEvery = verifyEvery
        self.seed = seed
        self.serverCpus = serverCpus
        self.loadCpus = loadCpus
    }
}

/// A figure derived from several measurements of one server and suite.
public struct FigureRecord: Codable, Sendable {
    public var server: String
    public var suite: String
    public var protocolName: String
    public var name: String
    public var value: Double
    public var unit: String
    public var description: String

    public init(
        server: String, suite: String, protocolName: String, name: String, value: Double, unit: String,
        description: String
    ) {
        self.server = server
        self.suite = suite
        self.protocolName = protocolName
        self.name = name
        self.value = value
        self.unit = unit
        self.description = description
    }
}

/// A suite as the reports need it, declared by the suite itself.
public struct SuiteRecord: Codable, Sendable {
    public var name: String
    public var summary: String
    /// The workload the others are compared against within a server, and the column that shows it.
    public var baselineWorkload: String?
    public var baselineColumn: String?
    public var notes: [String]?
    /// The run's services this suite's servers used (`upstream` → address).
    public var services: [String: String]?

    public init(
        name: String, summary: String, baselineWorkload: String? = nil, baselineColumn: String? = nil,
        notes: [String]? = nil, services: [String: String]? = nil
    ) {
        self.name = name
        self.summary = summary
        self.baselineWorkload = baselineWorkload
        self.baselineColumn = baselineColumn
        self.notes = notes
        self.services = services
    }
}
