import Contract
import ThreadedStack

/// The suites written for the threaded stack, served by one server: views
/// return dictionaries turned into JSON, as a Flask view returns `jsonify({...})`.
final class ThreadedSuiteServer: EmbeddedServer, @unchecked Sendable {
    let stack = StackName.threaded
    let secure = false
    private let server: ThreadedServer

    private let resources: AsyncOpsResources?
    let metrics: ServerMetrics?

    private init(server: ThreadedServer, resources: AsyncOpsResources?, metrics: ServerMetrics?) {
        self.server = server
        self.resources = resources
        self.metrics = metrics
    }

    static func start(_ settings: ServerSettings, suites: [String]) throws -> ThreadedSuiteServer {
        let metrics = settings.metrics ? ServerMetrics(stack: StackName.threaded.rawValue) : nil
        let app = ThreadedApp(observing: metrics)
        if let metrics {
            try app.route(ServerMetrics.path) { _ in
                Response(status: 200, contentType: ServerMetrics.contentType, body: metrics.exposition())
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
        let server = try ThreadedServer(app: app, configuration: Configuration(
            host: settings.host, port: settings.port, workers: settings.workers, maxConnections: settings.maxConnections,
            requestTimeoutSeconds: settings.headerTimeoutSeconds, onThreadStart: settings.onThreadStart))
        return ThreadedSuiteServer(server: server, resources: resources, metrics: metrics)
    }

    static func registerBasic(_ app: ThreadedApp) throws {
        try app.route("/plaintext") { _ in .text(BasicSuite.plaintextBody) }
        try app.route("/json") { _ in .json(["message": .string(BasicSuite.jsonMessage)]) }
        try app.route("/users/<int:id>") { request in
            guard let id = request.intParameter("id") else { throw HTTPError(400, "id must be an integer") }
            return .json(["id": .int(id), "name": .string(BasicSuite.userName(id: Int64(id)))])
        }
        try app.route("/search") { request in
            let args = request.args
            let query = args["q"] ?? ""
            let limit = BasicSuite.limit(from: args["limit"])
            let results: [JSON] = (1...limit).map { ["id": .int($0), "title": .string(BasicSuite.resultTitle(query: query, index: $0))] }
            return .json(["query": .string(query), "limit": .int(limit), "results": .array(results)])
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
