/// One server of the run: what it is, whether it passed verification, and why not.
public struct ServerRecord: Codable, Sendable {
    public enum Status: String, Codable, Sendable {
        case measured
        /// Verified and not measured (`run --verify-only`), every check passed.
        case verified
        case failedVerification = "failed_verification"
        case failedToStart = "failed_to_start"
        case failedDuringRun = "failed_during_run"
        case skipped
    }

    public var name: String
    public var kind: String
    public var design: String
    public var configuration: [String: String]
    public var status: Status
    public var error: String?
    public var startupSeconds: Double?
    public var rssIdleBytes: UInt64?
    public var rssAfterBytes: UInt64?
    /// Proportional set size idle and after the load (schema v2), where the kernel reports it.
    public var pssIdleBytes: UInt64?
    public var pssAfterBytes: UInt64?
    /// External servers: where their output went, the end of it when they
    /// failed, and how their process ended when stopped.
    public var logPath: String?
    public var logTail: String?
    public var exit: String?
    public var verification: [VerificationRecord]

    public init(name: String, kind: String, design: String, configuration: [String: String], status: Status) {
        self.name = name
        self.kind = kind
        self.design = design
        self.configuration = configuration
        self.status = status
        verification = []
    }
}

public struct VerificationRecord: Codable, Sendable {
    public var suite: String
    public var checksRun: Int
    public var passed: Bool
    public var failures: [FindingRecord]
    public var warnings: [FindingRecord]
    /// The workloads that failed and so were not measured (schema v2); the
    /// suite's other workloads were.
    public var failedWorkloads: [String]?
    /// Parts of checks the server declared it cannot express, with the reason (schema v2).
    public var waived: [FindingRecord]?

    public init(suite: String, checksRun: Int, passed: Bool, failures: [FindingRecord], warnings: [FindingRecord]) {
        self.suite = suite
        self.checksRun = checksRun
        self.passed = passed
        self.failures = failures
        self.warnings = warnings
    }
}

public struct FindingRecord: Codable, Sendable, Equatable {
    public var check: String
    public var message: String

    public init(check: String, message: String) {
        self.check = check
        self.message = message
    }
}
