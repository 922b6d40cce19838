/// A figure a suite derives from one server's measured workloads — the cost
/// of a middleware layer, how much of a fan-out a design overlaps — declared
/// by the suite and computed and rendered by generic code.
public struct FigureRule: Sendable {
    public let name: String
    public let unit: String
    public let description: String
    /// The value from the server's medians (one protocol, closed loop,
    /// keep-alive, no pipelining), or nil when the workloads it needs are missing.
    public let value: @Sendable (WorkloadMedians) -> Double?

    public init(
        name: String, unit: String, description: String, value: @escaping @Sendable (WorkloadMedians) -> Double?
    ) {
        self.name = name
        self.unit = unit
        self.description = description
        self.value = value
    }
}

/// The medians of one server's workloads in one suite and protocol, by
/// workload and connection level.
public struct WorkloadMedians: Sendable {
    public struct Figures: Sendable {
        public var rps: Double
        public var p50Us: Double
        public var p99Us: Double
        public var serverCpuUsPerRequest: Double?
        public var allocationsPerRequest: Double?

        public init(
            rps: Double, p50Us: Double, p99Us: Double, serverCpuUsPerRequest: Double?, allocationsPerRequest: Double?
        ) {
            self.rps = rps
            self.p50Us = p50Us
            self.p99Us = p99Us
            self.serverCpuUsPerRequest = serverCpuUsPerRequest
            self.allocationsPerRequest = allocationsPerRequest
        }
    }

    private let rows: [(workload: String, connections: Int, figures: Figures)]

    public init(_ rows: [(workload: String, connections: Int, figures: Figures)]) {
        self.rows = rows
    }

    /// The workload's figures at `connections`, or at its first level measured.
    public subscript(_ workload: String, connections connections: Int? = nil) -> Figures? {
        rows.first { $0.workload == workload && (connections == nil || $0.connections == connections) }?.figures
    }
}
