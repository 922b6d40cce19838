/// A threaded-stack middleware with Django's request and response hooks: the
/// app wraps each route's view in callables, one per middleware, when the
/// route is added.
public protocol ThreadedMiddleware: Sendable {
    /// Runs before the view, outermost first; an answer here skips the rest.
    func processRequest(_ request: inout Request) throws -> Response?
    /// Runs on every answer on its way out, innermost first.
    func processResponse(_ request: Request, _ response: inout Response)
}

extension ThreadedMiddleware {
    public func processRequest(_ request: inout Request) throws -> Response? { nil }
    public func processResponse(_ request: Request, _ response: inout Response) {}
}

extension Array where Element == any ThreadedMiddleware {
    func wrap(_ view: @escaping Handler) -> Handler {
        reversed().reduce(view) { inner, middleware in
            { request in
                var request = request
                var response: Response
                if let early = try middleware.processRequest(&request) {
                    response = early
                } else {
                    response = try inner(request)
                }
                middleware.processResponse(request, &response)
                return response
            }
        }
    }
}
