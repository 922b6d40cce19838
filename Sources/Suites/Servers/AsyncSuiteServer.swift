import AsyncStack
import NIOCore
import SuiteKit

/// The suites on the async stack, served by one server. Answers are Codable
/// models, as FastAPI's response models.
final class AsyncSuiteServer: EmbeddedServer, @unchecked Sendable {
    let stack = StackName.async
    let secure: Bool
    let metrics: ServerMetrics?
    private let server: AsyncServer
    private let context: SuiteContext

    private init(server: AsyncServer, secure: Bool, context: SuiteContext, metrics: ServerMetrics?) {
        self.server = server
        self.secure = secure
        self.context = context
        self.metrics = metrics
    }

    static func start(_ context: SuiteContext, suites: [any CatalogSuite.Type]) throws -> AsyncSuiteServer {
        let settings = context.settings
        let metrics = settings.metrics ? ServerMetrics(stack: StackName.async.rawValue) : nil
        let app = AsyncApp(observing: observers(metrics, settings.observer))
        if let metrics {
            try app.get(ServerMetrics.path) { _ in
                AsyncResponse(
                    headers: ["Content-Type": ServerMetrics.contentType], body: ByteBuffer(bytes: metrics.exposition()))
            }
        }
        for suite in suites { try suite.register(app, context) }
        let server = try AsyncServer(
            app: app,
            configuration: AsyncConfiguration(
                host: settings.host, port: Int(settings.port), workers: settings.workers,
                headerTimeoutSeconds: settings.headerTimeoutSeconds, maxConnections: settings.maxConnections,
                h2c: settings.h2c,
                tls: settings.tls.map { ($0.certificatePEM, $0.privateKeyPEM) }, onThreadStart: settings.onThreadStart))
        return AsyncSuiteServer(server: server, secure: settings.tls != nil, context: context, metrics: metrics)
    }

    var port: UInt16 { UInt16(server.port) }
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
