import NIOCore
import NIOHTTP1
import WireFormat

/// A request as an async handler sees it.
public struct AsyncRequest: Sendable {
    public let head: HTTPRequestHead
    public let body: ByteBuffer?
    public let parameters: Parameters
    /// The path without the query.
    public let path: Substring
    /// The raw query (after `?`), still percent-encoded.
    public let query: Substring
    /// What middleware found out about this request.
    public let state: RequestState
    /// The event loop that owns the request's connection, and runs its task.
    public let eventLoop: EventLoop

    public var method: HTTPMethod { head.method }
    public var headers: HTTPHeaders { head.headers }

    /// A dependency for this request (FastAPI's `Depends`).
    public func resolve<Value>(_ dependency: Dependency<Value>) async throws -> Value {
        try await state.resolver.resolve(dependency)
    }

    /// Waits on the request's own event loop, as `asyncio.sleep` waits on the
    /// running loop: the loop's timer wakes the task, so no thread outside the
    /// server takes part in the wait.
    public func sleep(nanoseconds: UInt64) async {
        let loop = eventLoop
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            loop.scheduleTask(in: .nanoseconds(Int64(clamping: nanoseconds))) { done.resume() }
        }
    }

    /// The first value of a header, or nil.
    public func header(_ name: String) -> String? { head.headers.first(name: name) }

    /// Under a mount: the path after the mount's prefix and its '/' (percent-encoded), else empty.
    public var mountedPath: Substring { parameters["*"] ?? "" }

    /// The first decoded value of query argument `name`.
    public func queryValue(_ name: String) -> String? {
        QueryString.value(of: name, in: query.utf8)
    }
}

/// Path parameters captured by the router, converted on demand.
public struct Parameters: Sendable {
    var values: [(name: Substring, value: Substring)] = []

    public subscript(name: String) -> Substring? {
        values.first { $0.name == name }?.value
    }

    /// The parameter converted to `T`; a missing or unconvertible value is a 400.
    public func require<T: LosslessStringConvertible>(_ name: String, as type: T.Type = T.self) throws -> T {
        guard let raw = self[name] else { throw AsyncHTTPError(.badRequest, "missing parameter \(name)") }
        guard let value = T(String(raw)) else {
            throw AsyncHTTPError(.badRequest, "parameter \(name) is not a valid \(T.self)")
        }
        return value
    }
}

/// Thrown by a handler to answer with an error status and a JSON message.
public struct AsyncHTTPError: Error, Sendable {
    public let status: HTTPResponseStatus
    public let message: String

    public init(_ status: HTTPResponseStatus, _ message: String? = nil) {
        self.status = status
        self.message = message ?? status.reasonPhrase.lowercased()
    }
}
