import Posix

/// A service a suite's servers use — an upstream HTTP service today; a
/// database, a cache server, a broker tomorrow — started once per run, on
/// threads and ports of its own (neither a server's nor the load
/// generator's), and stopped after it, also when the run fails.
public protocol SuiteService: AnyObject, Sendable {
    /// A short name for logs and results (`upstream`).
    static var serviceName: String { get }
    /// Starts the service; throws with a message that says what is missing.
    static func start() throws -> Self
    /// What an external server finds in its environment to reach the service
    /// (`CATBENCH_UPSTREAM=127.0.0.1:PORT`).
    var environment: [String: String] { get }
    /// Where it listens, for logs and results.
    var address: SocketAddress { get }
    /// Where it is, for logs and results: the address, or a file for an embedded database.
    var location: String { get }
    func stop()
}

extension SuiteService {
    public var location: String { address.description }
}

/// The services of one run, each started once; looked up by type.
public final class ServiceDirectory: @unchecked Sendable {
    private let services: [any SuiteService]

    public init(_ services: [any SuiteService] = []) {
        self.services = services
    }

    /// Starts one of each type (in order, without repeats); stops the ones
    /// already started when one fails.
    public static func start(_ types: [any SuiteService.Type]) throws -> ServiceDirectory {
        var started: [any SuiteService] = []
        var seen = Set<ObjectIdentifier>()
        do {
            for type in types where seen.insert(ObjectIdentifier(type)).inserted {
                do {
                    started.append(try type.start())
                } catch {
                    throw ServiceFailure(description: "cannot start the \(type.serviceName): \(error)")
                }
            }
        } catch {
            for service in started.reversed() { service.stop() }
            throw error
        }
        return ServiceDirectory(started)
    }

    /// The running service of this type, if the run has one.
    public func service<S: SuiteService>(_ type: S.Type) -> S? {
        services.lazy.compactMap { $0 as? S }.first
    }

    /// The running service of this type, or an error naming it.
    public func require<S: SuiteService>(_ type: S.Type) throws -> S {
        guard let found = service(type) else {
            throw ServiceFailure(description: "no \(type.serviceName) is running for this server")
        }
        return found
    }

    /// Every service's environment, for an external server.
    public var environment: [String: String] {
        services.reduce(into: [:]) { env, service in env.merge(service.environment) { a, _ in a } }
    }

    /// `name address` of every service, for logs and results.
    public var summary: [String: String] {
        Dictionary(services.map { (type(of: $0).serviceName, $0.location) }, uniquingKeysWith: { a, _ in a })
    }

    public var isEmpty: Bool { services.isEmpty }

    /// Observations of the next repetition by those of `types` that watch loads.
    public func observe(_ types: [any SuiteService.Type], poolLimit: Int) -> [any LoadObservation] {
        let wanted = Set(types.map { ObjectIdentifier($0) })
        return services.compactMap { service in
            guard wanted.contains(ObjectIdentifier(type(of: service))), let watching = service as? any ObservingService
            else { return nil }
            return watching.observe(poolLimit: poolLimit)
        }
    }

    /// Stops every service, last started first.
    public func stop() {
        for service in services.reversed() { service.stop() }
    }
}

public struct ServiceFailure: Error, CustomStringConvertible {
    public let description: String

    public init(description: String) {
        self.description = description
    }
}

/// A service that watches each measured repetition from its own side — what
/// a server cannot fake: a database's own statement counts, its
/// connections, its CPU. The runner starts an observation right before a
/// repetition's load and finishes it right after.
public protocol ObservingService: SuiteService {
    /// Starts watching; nil when this service cannot (an embedded database,
    /// one without the statistics). `poolLimit`: the most connections the
    /// suite allows a server.
    func observe(poolLimit: Int) -> (any LoadObservation)?
}

/// One repetition watched by a service.
public protocol LoadObservation: AnyObject, Sendable {
    /// Stops watching: figures for `requests` answered in `seconds`, and the
    /// rules the load broke, if any.
    func finish(requests: UInt64, seconds: Double) -> ServiceReading
}

/// What a service saw of one repetition: named figures and broken rules.
public struct ServiceReading: Sendable {
    public var figures: [String: Double]
    public var problems: [String]

    public init(figures: [String: Double] = [:], problems: [String] = []) {
        self.figures = figures
        self.problems = problems
    }
}
