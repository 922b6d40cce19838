import Posix
import WireFormat

/// What a server lends its requests: the executor async work runs on, and the app's injector.
final class ThreadedRuntime: Sendable {
    let bridge: ThreadExecutor
    let injector: Injector
    init(bridge: ThreadExecutor, injector: Injector) {
        self.bridge = bridge
        self.injector = injector
    }
}

/// A request's injector, made on first use and closed when the request ends.
final class InjectorBox: @unchecked Sendable {
    var injector: RequestInjector?
}

/// A request as a handler of the threaded stack sees it: everything already
/// copied out of the socket buffer, like a WSGI environ.
public struct Request: Sendable {
    public let method: String
    public let path: String
    /// The raw query string (after `?`), still percent-encoded.
    public let queryString: String
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]
    /// Path parameters by name, as matched (`<int:id>` values are checked integers).
    public internal(set) var pathParameters: [String: String] = [:]
    /// Attributes middleware set on the request (Django's `request.user`, …).
    public var attributes: [String: String] = [:]
    /// Monotonic time the request was read, for timing middleware.
    public internal(set) var startedAt: UInt64 = 0
    let runtime: ThreadedRuntime?
    let injectorBox = InjectorBox()

    /// This request's injector (a child of the app's).
    public var injector: RequestInjector {
        if let made = injectorBox.injector { return made }
        guard let runtime else { fatalError("no injector outside a server") }
        let made = runtime.injector.requestInjector(bridge: runtime.bridge)
        injectorBox.injector = made
        return made
    }

    init(
        method: String, path: String, queryString: String, headers: [(name: String, value: String)], body: [UInt8],
        runtime: ThreadedRuntime?, startedAt: UInt64
    ) {
        self.method = method
        self.path = path
        self.queryString = queryString
        self.headers = headers
        self.body = body
        self.runtime = runtime
        self.startedAt = startedAt
    }

    /// Runs async work from this sync view and waits for it (Django's
    /// async_to_sync): the worker thread blocks meanwhile, and the work runs on
    /// the server's executor thread.
    public func awaitBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        guard let runtime else { fatalError("no async bridge outside a server") }
        return runtime.bridge.runBlocking(body)
    }

    /// Decoded query arguments, first value per name (Flask's `request.args`).
    public var args: [String: String] {
        var result: [String: String] = [:]
        for (name, value) in QueryString.parse(Array(queryString.utf8)) where result[name] == nil {
            result[name] = value
        }
        return result
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name.lowercased() == lower }?.value
    }

    /// An integer path parameter declared as `<int:name>`.
    public func intParameter(_ name: String) -> Int? { pathParameters[name].flatMap { Int($0) } }
}

/// What a handler returns.
public struct Response: Sendable {
    public var status: Int
    public var contentType: String?
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A file's bytes to send instead of `body` (written block by block by
    /// the worker, blocking, then closed), with the length the head declares.
    public var file: StaticFiles.Body?
    /// The Content-Length of a HEAD answer or a file body, when not `body.count`.
    public var declaredLength: Int?

    public init(
        status: Int = 200, contentType: String? = nil, headers: [(name: String, value: String)] = [], body: [UInt8] = []
    ) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
    }

    /// The file `path` names beneath `files`' folder, by the HTTP rules
    /// (Werkzeug's `send_from_directory`): validators, 304, ranges, 416, HEAD.
    public static func file(_ files: StaticFiles, path: String, for request: Request) -> Response {
        let answer = files.answer(method: request.method, path: path, header: request.header)
        guard answer.status < 400 else {
            var r = HTTPError(answer.status).response
            r.headers += answer.headers
            return r
        }
        var r = Response(status: answer.status, contentType: answer.contentType, headers: answer.headers)
        r.file = answer.body
        r.declaredLength = answer.status == 304 ? nil : answer.length
        return r
    }

    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8))
    }

    public static func json(_ value: JSON, status: Int = 200) -> Response {
        Response(status: status, contentType: "application/json", body: value.serialized())
    }
}

/// Thrown by a handler to answer with an error status.
public struct HTTPError: Error, Sendable {
    public let status: Int
    public let message: String

    public init(_ status: Int, _ message: String? = nil) {
        self.status = status
        self.message = message ?? HTTPStatus.reason(status).lowercased()
    }

    var response: Response { .json(["error": .string(message)], status: status) }
}
