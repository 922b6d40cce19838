import CCoreStack
import SuiteKit

/// The suites on the ccore stack, served by one server.
final class CCoreSuiteServer: EmbeddedServer, @unchecked Sendable {
    let stack = StackName.ccore
    let secure: Bool
    let metrics: ServerMetrics?
    private let server: CCoreServer
    private let context: SuiteContext

    private init(server: CCoreServer, secure: Bool, context: SuiteContext, metrics: ServerMetrics?) {
        self.server = server
        self.secure = secure
        self.context = context
        self.metrics = metrics
    }

    static func start(_ context: SuiteContext, suites: [any CatalogSuite.Type]) throws -> CCoreSuiteServer {
        let settings = context.settings
        let metrics = settings.metrics ? ServerMetrics(stack: StackName.ccore.rawValue) : nil
        let app = CCoreApp(observing: observers(metrics, settings.observer))
        if let metrics {
            try app.get(ServerMetrics.path) { ex in
                metrics.exposition().withUnsafeBytes {
                    ex.respondRaw(status: 200, contentType: ServerMetrics.contentType, body: $0)
                }
            }
        }
        for suite in suites { try suite.register(app, context) }
        let server = try CCoreServer(
            app: app,
            configuration: CCoreConfiguration(
                host: settings.host, port: settings.port, workers: settings.workers,
                maxConnectionsPerWorker: max(1, settings.maxConnections / settings.workers),
                headerTimeoutMilliseconds: Int(settings.headerTimeoutSeconds * 1000), h2c: settings.h2c,
                tls: settings.tls.map { CCoreTLS(certificatePEM: $0.certificatePEM, privateKeyPEM: $0.privateKeyPEM) },
                onThreadStart: settings.onThreadStart))
        return CCoreSuiteServer(server: server, secure: settings.tls != nil, context: context, metrics: metrics)
    }

    var port: UInt16 { server.port }
    var requestsServed: UInt64 { server.requestsServed }

    func runOnServerThreads(_ task: @escaping @Sendable () -> Void) {
        server.runOnEveryThread(task)
        context.runOnAdoptedThreads(task)
    }

    func stop() {
        server.stop()
        context.stop()
    }
}
