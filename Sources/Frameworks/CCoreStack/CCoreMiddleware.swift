import Posix
import WireFormat

/// A ccore middleware: a `before` step that may answer early, and an `after`
/// step that adds to every answer that passes back through it. The chain of a
/// route is compiled once, at registration, ordered by priority (lowest is
/// outermost) — Catzilla's pre/post chains: calling it costs a loop over an
/// array, no allocation.
public struct CCoreMiddleware: Sendable {
    public let name: String
    public let priority: Int
    public let before: (@Sendable (CCoreExchange) -> CCoreAnswer?)?
    public let after: (@Sendable (CCoreExchange, Int) -> Void)?

    public init(
        name: String, priority: Int, before: (@Sendable (CCoreExchange) -> CCoreAnswer?)? = nil,
        after: (@Sendable (CCoreExchange, Int) -> Void)? = nil
    ) {
        self.name = name
        self.priority = priority
        self.before = before
        self.after = after
    }
}

/// An answer a middleware gives instead of the handler.
public struct CCoreAnswer: Sendable {
    public var status: Int
    public var json: String
    public var headers: [(name: String, value: String)]

    public init(status: Int, json: String, headers: [(name: String, value: String)] = []) {
        self.status = status
        self.json = json
        self.headers = headers
    }
}

/// What middleware learn about a request and hand inward: reused per loop,
/// reset for every request.
public struct CCoreContext {
    public var requestID: String?
    public var user: String?
    public var asyncValue: String?
    public var startedAt: UInt64 = 0

    mutating func reset(now: UInt64) {
        requestID = nil
        user = nil
        asyncValue = nil
        startedAt = now
    }
}

/// A compiled route: its handler and its middleware chain in running order.
struct CCoreRoute: Sendable {
    let handler: CCoreApp.Handler
    let chain: [CCoreMiddleware]
    let observer: (any RouteObserver)?
}
