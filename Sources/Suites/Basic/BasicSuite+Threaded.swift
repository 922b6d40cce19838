import SuiteKit
import ThreadedStack

/// The basic suite on the threaded stack: views return dictionaries, as a Flask view returns `jsonify({...})`.
extension BasicSuite: ThreadedSuite {
    public static func register(_ app: ThreadedApp, _ context: SuiteContext) throws {
        try app.route("/plaintext") { _ in .text(plaintextBody) }
        try app.route("/json") { _ in .json(["message": .string(jsonMessage)]) }
        try app.route("/users/<int:id>") { request in
            guard let id = request.intParameter("id") else { throw HTTPError(400, "id must be an integer") }
            return .json(["id": .int(id), "name": .string(userName(id: Int64(id)))])
        }
        try app.route("/search") { request in
            let args = request.args
            let query = args["q"] ?? ""
            let limit = BasicSuite.limit(from: args["limit"])
            let results: [JSON] = (1...limit).map {
                ["id": .int($0), "title": .string(resultTitle(query: query, index: $0))]
            }
            return .json(["query": .string(query), "limit": .int(limit), "results": .array(results)])
        }
    }
}
