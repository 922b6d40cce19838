import CCoreStack
import Contract

/// The suites written for the ccore stack, served by one server.
final class CCoreSuiteServer: EmbeddedServer, @unchecked Sendable {
    let stack = StackName.ccore
    let secure: Bool
    private let server: CCoreServer

    private let resources: AsyncOpsResources?
    let metrics: ServerMetrics?

    private init(server: CCoreServer, secure: Bool, resources: AsyncOpsResources?, metrics: ServerMetrics?) {
        self.server = server
        self.secure = secure
        self.resources = resources
        self.metrics = metrics
    }

    static func start(_ settings: ServerSettings, suites: [String]) throws -> CCoreSuiteServer {
        let metrics = settings.metrics ? ServerMetrics(stack: StackName.ccore.rawValue) : nil
        let app = CCoreApp(observing: metrics)
        if let metrics {
            try app.get(ServerMetrics.path) { ex in
                metrics.exposition().withUnsafeBytes { ex.respondRaw(status: 200, contentType: ServerMetrics.contentType, body: $0) }
            }
        }
        let resources = suites.contains("async") ? try AsyncOpsResources(settings: settings) : nil
        for suite in suites {
            switch suite {
            case "basic": try registerBasic(app)
            case "middleware": try registerMiddleware(app)
            case "di": try registerDI(app)
            case "validation": try registerValidation(app)
            case "async": try registerAsyncOps(app, resources!)
            default: throw UnknownSuite(name: suite)
            }
        }
        let server = try CCoreServer(app: app, configuration: CCoreConfiguration(
            host: settings.host, port: settings.port, workers: settings.workers,
            maxConnectionsPerWorker: max(1, settings.maxConnections / settings.workers),
            headerTimeoutMilliseconds: Int(settings.headerTimeoutSeconds * 1000), h2c: settings.h2c,
            tls: settings.tls.map { CCoreTLS(certificatePEM: $0.certificatePEM, privateKeyPEM: $0.privateKeyPEM) },
            onThreadStart: settings.onThreadStart))
        return CCoreSuiteServer(server: server, secure: settings.tls != nil, resources: resources, metrics: metrics)
    }

    static func registerBasic(_ app: CCoreApp) throws {
        try app.get("/plaintext") { ex in ex.text("Hello, World!") }
        try app.get("/json") { ex in
            ex.json { w in
                w.beginObject(); w.key("message"); w.string(BasicSuite.jsonMessage); w.endObject()
            }
        }
        try app.get("/users/{id:int}") { ex in
            guard let id = ex.intParameter("id") else { throw CCoreError(400, "id must be an integer") }
            ex.json { w in
                w.beginObject()
                w.key("id"); w.int(id)
                w.key("name"); w.string(BasicSuite.userName(id: Int64(id)))
                w.endObject()
            }
        }
        try app.get("/search") { ex in
            let query = ex.query("q") ?? ""
            let limit = BasicSuite.limit(from: ex.query("limit"))
            ex.json { w in
                w.beginObject()
                w.key("query"); w.string(query)
                w.key("limit"); w.int(limit)
                w.key("results"); w.beginArray()
                for i in 1...limit {
                    w.beginObject()
                    w.key("id"); w.int(i)
                    w.key("title"); w.string(BasicSuite.resultTitle(query: query, index: i))
                    w.endObject()
                }
                w.endArray()
                w.endObject()
            }
        }
    }

    var port: UInt16 { server.port }
    var requestsServed: UInt64 { server.requestsServed }
    func runOnServerThreads(_ task: @escaping @Sendable () -> Void) { server.runOnEveryThread(task) }
    func stop() {
        server.stop()
        resources?.stop()
    }
}
