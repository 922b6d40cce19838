/// What a framework tells about each answer of its routes (for metrics):
/// the three stacks call it the same way, and know nothing of Prometheus.
/// An observer is made once per route when the route is registered, so the
/// hot path never looks a route up by name.
public protocol RouteObserving: Sendable {
    /// The observer of one route, or nil to leave the route unobserved.
    func observer(method: String, pattern: String) -> (any RouteObserver)?
}

/// Told of one route's answers: the status and the time from the start of
/// the request to the answer.
public protocol RouteObserver: Sendable {
    func answered(status: Int, nanoseconds: UInt64)
}
