/// The asynchronous work the middleware suite's async layer awaits: a value
/// that is ready only after the task has given up its thread once, as an
/// async lookup would be.
public enum AsyncContextSource {
    public static func resolve() async -> String {
        await Task.yield()
        return MiddlewarePolicy.contextValue
    }
}
