import SuiteKit
import ThreadedStack

/// The suites on the threaded stack, served by one server: views return
/// dictionaries turned into JSON, as a Flask view returns `jsonify({...})`.
final class ThreadedSuiteServer: EmbeddedServer, @unchecked Sendable {
    let stack = StackName.threaded
    let secure: Bool
    let metrics: ServerMetrics?
    private let server: ThreadedServer
    private let context: SuiteContext

    private init(server: ThreadedServer, secure: Bool, context: SuiteContext, metrics: ServerMetrics?) {
        self.server = server
        self.secure = secure
        self.context = context
        self.metrics = metrics
    }

    static func start(_ context: SuiteContext, suites: [any CatalogSuite.Type]) throws -> ThreadedSuiteServer {
        let settings = context.settings
        let metrics = settings.metrics ? ServerMetrics(stack: StackName.threaded.rawValue) : nil
        let app = ThreadedApp(observing: observers(metrics, settings.observer))
        if let metrics {
            try app.route(ServerMetrics.path) { _ in
                Response(status: 200, contentType: ServerMetrics.contentType, body: metrics.exposition())
            }
        }
        for suite in suites { try suite.register(app, context) }
        let server = try ThreadedServer(
            app: app,
            configuration: Configuration(
                host: settings.host, port: settings.port, workers: settings.workers,
                maxConnections: settings.maxConnections,
                requestTimeoutSeconds: settings.headerTimeoutSeconds,
                tls: settings.tls.map {
                    TLSIdentity(certificateChainPEM: $0.certificatePEM, privateKeyPEM: $0.privateKeyPEM)
                },
                onThreadStart: settings.onThreadStart))
        return ThreadedSuiteServer(server: server, secure: settings.tls != nil, context: context, metrics: metrics)
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
