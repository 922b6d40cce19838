/// The three embedded designs catbench compares. Naming one needs no
/// implementation module: the CLI and the runner speak of stacks by this name.
public enum StackName: String, CaseIterable, Sendable, Codable {
    case ccore
    case async
    case threaded

    /// Whether the design speaks HTTP/2. The sync thread-per-request design
    /// speaks HTTP/1.1 only, as WSGI servers do.
    public var speaksHTTP2: Bool { self != .threaded }

    /// Whether the design serves TLS: every one does (gunicorn's sync workers
    /// serve TLS too); HTTP/2 is what the sync design lacks.
    public var speaksTLS: Bool { true }

    /// The protocols the design serves, as results name them.
    public var protocolNames: String {
        speaksHTTP2 ? "http/1.1, h2c, http/1.1+tls, h2" : (speaksTLS ? "http/1.1, http/1.1+tls" : "http/1.1")
    }

    public var design: String {
        switch self {
        case .ccore: return "C core: epoll loop, parser and radix router in C; sync Swift handlers called from the loop"
        case .async: return "async-first: SwiftNIO event loops; each request a task awaiting an async handler"
        case .threaded: return "sync thread-per-request: blocking sockets, an acceptor and a worker-thread pool"
        }
    }
}
