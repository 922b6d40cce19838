import FoundationEssentials
import NIOCore
import NIOHTTP1

/// What an async handler returns.
public struct AsyncResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer

    public init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer = ByteBuffer())
    {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func text(_ text: String, status: HTTPResponseStatus = .ok) -> AsyncResponse {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        return AsyncResponse(status: status, headers: headers, body: ByteBuffer(string: text))
    }

    /// A JSON answer encoded with Codable, as FastAPI serializes a response model.
    public static func json<T: Encodable>(_ value: T, status: HTTPResponseStatus = .ok) throws -> AsyncResponse {
        let data = try JSONEncoder().encode(value)
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return AsyncResponse(status: status, headers: headers, body: ByteBuffer(bytes: data))
    }

    public static func error(_ status: HTTPResponseStatus, _ message: String) -> AsyncResponse {
        struct ErrorBody: Encodable { let error: String }
        return (try? json(ErrorBody(error: message), status: status)) ?? AsyncResponse(status: status)
    }
}
