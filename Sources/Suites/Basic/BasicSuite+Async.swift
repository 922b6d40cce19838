import AsyncStack
import SuiteKit

/// The basic suite on the async stack: Codable answer models, as FastAPI's response models.
extension BasicSuite: AsyncStackSuite {
    struct Message: Encodable { let message: String }
    struct User: Encodable { let id: Int; let name: String }
    struct SearchResult: Encodable { let id: Int; let title: String }
    struct SearchPage: Encodable { let query: String; let limit: Int; let results: [SearchResult] }

    public static func register(_ app: AsyncApp, _ context: SuiteContext) throws {
        try app.get("/plaintext") { _ in .text(plaintextBody) }
        try app.get("/json") { _ in try .json(Message(message: jsonMessage)) }
        try app.get("/users/{id}") { request in
            let id = try request.parameters.require("id", as: Int.self)
            return try .json(User(id: id, name: userName(id: Int64(id))))
        }
        try app.get("/search") { request in
            let query = request.queryValue("q") ?? ""
            let limit = BasicSuite.limit(from: request.queryValue("limit"))
            let results = (1...limit).map { SearchResult(id: $0, title: resultTitle(query: query, index: $0)) }
            return try .json(SearchPage(query: query, limit: limit, results: results))
        }
    }
}
