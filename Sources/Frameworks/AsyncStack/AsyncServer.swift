import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Posix

/// The async-first design (FastAPI on uvicorn, Starlette): NIO event loops
/// parse HTTP; every request becomes a task that awaits its handler and then
/// writes the answer back through the channel.
public final class AsyncServer: Sendable {
    public let configuration: AsyncConfiguration
    public let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let connections: ConnectionRegistry
    private let counter: RequestCounter

    /// Binds and starts serving `app` at once.
    public init(app: AsyncApp, configuration: AsyncConfiguration = AsyncConfiguration()) throws {
        precondition(configuration.workers >= 1, "at least one worker")
        self.configuration = configuration
        let group = MultiThreadedEventLoopGroup(numberOfThreads: configuration.workers)
        if let hook = configuration.onThreadStart {
            for loop in group.makeIterator() { try loop.submit(hook).wait() }
        }
        let counter = RequestCounter()
        let connections = ConnectionRegistry()
        let executors = ExecutorTable(group)
        do {
            let pipelines = try HTTPPipelines(
                app: app, configuration: configuration, executors: executors, counter: counter)
            let address = try SocketAddress(host: configuration.host, port: UInt16(clamping: configuration.port))
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard connections.add(channel, limit: configuration.maxConnections) else {
                            channel.close(promise: nil)
                            return
                        }
                        try pipelines.configure(channel)
                    }
                }
                .bind(host: address.host, port: Int(address.port)).wait()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            try? group.syncShutdownGracefully()
            throw Socket.ListenError(
                description:
                    "port \(configuration.port) on \(configuration.host) is in use by another process; pass --port 0 for a free one"
            )
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        port = channel.localAddress?.port ?? configuration.port
        self.group = group
        self.connections = connections
        self.counter = counter
    }

    /// Answers written so far.
    public var requestsServed: UInt64 { counter.value }

    /// Runs `task` on every event-loop thread and returns when all have.
    public func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        for loop in group.makeIterator() { try? loop.submit(task).wait() }
    }

    /// Closes the listener and every connection, then stops the loops.
    public func stop() {
        try? channel.close().wait()
        connections.closeAll()
        try? group.syncShutdownGracefully()
    }
}

/// Answers written, over every loop and stream.
final class RequestCounter: Sendable {
    private let count = ManagedAtomic<UInt64>(0)
    var value: UInt64 { count.load(ordering: .relaxed) }
    func increment() { count.wrappingIncrement(ordering: .relaxed) }
}

/// One task executor per event loop, made once.
final class ExecutorTable: Sendable {
    private let executors: [(EventLoop, EventLoopTaskExecutor)]

    init(_ group: MultiThreadedEventLoopGroup) {
        executors = group.makeIterator().map { ($0, EventLoopTaskExecutor($0)) }
    }

    func executor(for loop: EventLoop) -> EventLoopTaskExecutor {
        executors.first { $0.0 === loop }?.1 ?? EventLoopTaskExecutor(loop)
    }
}

/// Open connections, so that stopping does not wait for idle keep-alive clients.
private final class ConnectionRegistry: @unchecked Sendable {
    private let lock = NIOLock()
    private var channels: [ObjectIdentifier: Channel] = [:]

    /// Registers the channel; false when `limit` connections are already open.
    func add(_ channel: Channel, limit: Int) -> Bool {
        let id = ObjectIdentifier(channel)
        let added = lock.withLock { () -> Bool in
            guard channels.count < limit else { return false }
            channels[id] = channel
            return true
        }
        guard added else { return false }
        channel.closeFuture.whenComplete { _ in
            self.lock.withLock { _ = self.channels.removeValue(forKey: id) }
        }
        return true
    }

    func closeAll() {
        let open = lock.withLock { Array(channels.values) }
        for channel in open { try? channel.close().wait() }
    }
}
