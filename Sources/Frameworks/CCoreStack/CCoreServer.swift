import CCatCore
import Posix
import WireFormat

/// The C-core design (Catzilla): a C epoll loop per worker parses requests and
/// routes them in C, then calls the Swift handler synchronously on the loop.
public final class CCoreServer: @unchecked Sendable {
    public let configuration: CCoreConfiguration
    public let port: UInt16
    private let app: CCoreApp
    private var server: OpaquePointer?
    private let context: ServerContext

    /// What the C callbacks reach through their `ctx` pointer.
    final class ServerContext {
        let routes: [CCoreRoute]
        let scratch: [WorkerScratch]
        let bridges: [ThreadExecutor]
        let onThreadStart: (@Sendable () -> Void)?

        let container: CCoreContainer

        init(routes: [CCoreRoute], container: CCoreContainer, workers: Int, onThreadStart: (@Sendable () -> Void)?)
            throws
        {
            self.routes = routes
            self.container = container
            // One executor thread per loop for async work its handlers await;
            // it belongs to the server (started with the same thread hook).
            bridges = try (0..<workers).map {
                try ThreadExecutor(name: "ccore-async-\($0)", onThreadStart: onThreadStart)
            }
            scratch = bridges.map { WorkerScratch(bridge: $0, container: container) }
            self.onThreadStart = onThreadStart
        }

        func stopBridges() { for bridge in bridges { bridge.stop() } }
    }

    /// Binds and starts serving `app` at once.
    public init(app: CCoreApp, configuration: CCoreConfiguration = CCoreConfiguration()) throws {
        precondition(configuration.workers >= 1, "at least one worker")
        self.app = app
        self.configuration = configuration
        try app.container.compile()
        context = try ServerContext(
            routes: app.routes, container: app.container, workers: configuration.workers,
            onThreadStart: configuration.onThreadStart)
        var config = cc_server_config()
        config.port = configuration.port
        config.workers = Int32(configuration.workers)
        config.limits = cc_limits(
            max_header_bytes: UInt32(configuration.maxHeaderBytes),
            max_headers: UInt32(configuration.maxHeaders),
            max_body_bytes: UInt32(configuration.maxBodyBytes))
        config.max_connections = UInt32(configuration.maxConnectionsPerWorker)
        config.header_timeout_ms = UInt32(configuration.headerTimeoutMilliseconds)
        config.keepalive_timeout_ms = UInt32(configuration.keepAliveTimeoutMilliseconds)
        config.on_request = { ctx, ex in
            let context = Unmanaged<ServerContext>.fromOpaque(ctx!).takeUnretainedValue()
            CCoreServer.dispatch(context, ex!)
        }
        config.on_thread_start = { ctx, _ in
            let context = Unmanaged<ServerContext>.fromOpaque(ctx!).takeUnretainedValue()
            context.onThreadStart?()
        }
        config.ctx = Unmanaged.passUnretained(context).toOpaque()
        config.h2c = configuration.h2c ? 1 : 0
        var message = [CChar](repeating: 0, count: 512)
        var started: OpaquePointer?
        let cert = configuration.tls?.certificatePEM
        let key = configuration.tls?.privateKeyPEM
        let rc = configuration.host.withCString { host in
            configuration.serverName.withCString { name in
                withOptionalCString(cert) { certPEM in
                    withOptionalCString(key) { keyPEM in
                        config.host = host
                        config.server_name = name
                        config.tls_cert_pem = certPEM
                        config.tls_key_pem = keyPEM
                        // The core copies what it needs while starting.
                        return cc_server_start(&config, app.router, &started, &message, message.count)
                    }
                }
            }
        }
        guard rc == 0, let started else {
            context.stopBridges()
            throw Socket.ListenError(
                description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        server = started
        port = cc_server_port(started)
    }

    deinit { stop() }

    /// Answers written so far, over every loop (errors the core answered included).
    public var requestsServed: UInt64 { server.map { cc_server_requests($0) } ?? 0 }

    /// Runs `task` on every loop thread and returns when all have.
    public func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        guard let server else { return }
        for bridge in context.bridges { bridge.runBlocking { task() } }
        final class Box { let task: @Sendable () -> Void; init(_ t: @escaping @Sendable () -> Void) { task = t } }
        let box = Box(task)
        withExtendedLifetime(box) {
            cc_server_run_on_workers(
                server,
                { ctx, _ in
                    Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().task()
                }, Unmanaged.passUnretained(box).toOpaque())
        }
    }

    /// Stops the loops and closes every connection.
    public func stop() {
        guard let server else { return }
        self.server = nil
        cc_server_stop(server)
        context.stopBridges()
    }

    private static func dispatch(_ context: ServerContext, _ ex: OpaquePointer) {
        let match = cc_exchange_match(ex)!
        let worker = Int(cc_exchange_worker(ex))
        let scratch = context.scratch[worker]
        let exchange = CCoreExchange(raw: ex, scratch: scratch)
        let route = context.routes[Int(match.pointee.handler_id)]
        scratch.chain = route.chain
        scratch.observer = route.observer
        scratch.entered = 0
        scratch.responded = false
        scratch.context.reset(now: Clock.monotonicNanos())
        // Before steps, outermost first; one may answer in place of the handler.
        while scratch.entered < route.chain.count {
            let middleware = route.chain[scratch.entered]
            scratch.entered += 1
            if let before = middleware.before, let early = before(exchange) {
                exchange.answer(early)
                return
            }
        }
        // The request's injected instances end with it (pooled ones go back).
        defer {
            if scratch.scope.active {
                scratch.scope.active = false
                context.container.end(scratch.scope)
            }
        }
        do {
            try route.handler(exchange)
        } catch let error as CCoreError {
            exchange.json(status: error.status) { w in
                w.beginObject(); w.key("error"); w.string(error.message); w.endObject()
            }
        } catch {
            exchange.json(status: 500) { w in
                w.beginObject(); w.key("error"); w.string("internal error"); w.endObject()
            }
        }
    }
}

private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let text else { return body(nil) }
    return text.withCString { body($0) }
}
