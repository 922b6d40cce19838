import AsyncStack
import Contract
import NIOCore
import NIOHTTP1

/// The suites written for the async stack, served by one server. Answers are
/// Codable models, as FastAPI's response models.
final class AsyncSuiteServer: EmbeddedServer, @unchecked Sendable {
    let stack = StackName.async
    let secure: Bool
    private let server: AsyncServer

    private let resources: AsyncOpsResources?
    let metrics: ServerMetrics?

    private init(server: AsyncServer, secure: Bool, resources: AsyncOpsResources?, metrics: ServerMetrics?) {
        self.server = server
        self.secure = secure
        self.resources = resources
        self.metrics = metrics
    }

    struct Message: Encodable { let message: String }
    struct User: Encodable { let id: Int; let name: String }
    struct SearchResult: Encodable { let id: Int; let title: String }
    struct SearchPage: Encodable { let query: String; let limit: Int; let results: [SearchResult] }

    static func start(_ settings: ServerSettings, suites: [String]) throws -> AsyncSuiteServer {
        let metrics = settings.metrics ? ServerMetrics(stack: StackName.async.rawValue) : nil
        let app = AsyncApp(observing: metrics)
        if let metrics {
            try app.get(ServerMetrics.path) { _ in
                AsyncResponse(headers: ["Content-Type": ServerMetrics.contentType], body: ByteBuffer(bytes: metrics.exposition()))
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
        let server = try AsyncServer(app: app, configuration: AsyncConfiguration(
            host: settings.host, port: Int(settings.port), workers: settings.workers,
            headerTimeoutSeconds: settings.headerTimeoutSeconds, maxConnections: settings.maxConnections, h2c: settings.h2c,
            tls: settings.tls.map { ($0.certificatePEM, $0.privateKeyPEM) }, onThreadStart: settings.onThreadStart))
        return AsyncSuiteServer(server: server, secure: settings.tls != nil, resources: resources, metrics: metrics)
    }

    static func registerBasic(_ app: AsyncApp) throws {
        try app.get("/plaintext") { _ in .text(BasicSuite.plaintextBody) }
        try app.get("/json") { _ in try .json(Message(message: BasicSuite.jsonMessage)) }
        try app.get("/users/{id}") { request in
            let id = try request.parameters.require("id", as: Int.self)
            return try .json(User(id: id, name: BasicSuite.userName(id: Int64(id))))
        }
        try app.get("/search") { request in
            let query = request.queryValue("q") ?? ""
            let limit = BasicSuite.limit(from: request.queryValue("limit"))
            let results = (1...limit).map { SearchResult(id: $0, title: BasicSuite.resultTitle(query: query, index: $0)) }
            return try .json(SearchPage(query: query, limit: limit, results: results))
        }
    }

    var port: UInt16 { UInt16(server.port) }
    var requestsServed: UInt64 { server.requestsServed }
    func runOnServerThreads(_ task: @escaping @Sendable () -> Void) { server.runOnEveryThread(task) }
    func stop() {
        server.stop()
        resources?.stop()
    }
}
