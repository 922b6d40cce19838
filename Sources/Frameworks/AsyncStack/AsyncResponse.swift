import FoundationEssentials
import NIOCore
import NIOHTTP1
import WireFormat

/// What an async handler returns.
public struct AsyncResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: ByteBuffer
    /// A file's bytes to send instead of `body` (closed once sent), with the
    /// length the head declares in `declaredLength`.
    public var file: StaticFiles.Body?
    /// The Content-Length of a HEAD answer or a file body, when not the body's.
    public var declaredLength: Int?

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

    /// The file `path` names beneath `files`' folder, by the HTTP rules
    /// (Starlette's `StaticFiles`): validators, 304, ranges, 416, HEAD. On a
    /// cleartext HTTP/1.1 connection its bytes go out as a NIO file region
    /// (sendfile); over TLS or HTTP/2 in 64 KiB blocks, each read when the
    /// last is written.
    public static func file(_ files: StaticFiles, path: String, method: String, headers: HTTPHeaders) -> AsyncResponse {
        let answer = files.answer(method: method, path: path) { headers.first(name: $0) }
        var response =
            answer.status >= 400
            ? error(HTTPResponseStatus(statusCode: answer.status), HTTPStatus.reason(answer.status).lowercased())
            : AsyncResponse(status: HTTPResponseStatus(statusCode: answer.status))
        if let type = answer.contentType { response.headers.replaceOrAdd(name: "Content-Type", value: type) }
        for (name, value) in answer.headers { response.headers.add(name: name, value: value) }
        if answer.status < 400 {
            response.file = answer.body
            response.declaredLength = answer.status == 304 ? nil : answer.length
        }
        return response
    }

    public static func error(_ status: HTTPResponseStatus, _ message: String) -> AsyncResponse {
        struct ErrorBody: Encodable { let error: String }
        return (try? json(ErrorBody(error: message), status: status)) ?? AsyncResponse(status: status)
    }
}
