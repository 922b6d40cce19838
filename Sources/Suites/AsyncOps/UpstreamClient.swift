import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Posix

/// An async HTTP/1.1 client for the upstream, on NIO: keep-alive connections
/// reused from an idle list, one request at a time each. Its loop thread
/// starts with the server's hook and is adopted by the server, so its work
/// counts as the server's and its allocator cache is flushed with the server's.
public final class UpstreamClient: ServerThreads, @unchecked Sendable {
    private let address: Posix.SocketAddress
    private let group: MultiThreadedEventLoopGroup
    private let lock = NIOLock()
    private var idle: [Channel] = []

    public init(address: Posix.SocketAddress, onThreadStart: (@Sendable () -> Void)?) throws {
        self.address = address
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        if let onThreadStart {
            for loop in group.makeIterator() { try loop.submit(onThreadStart).wait() }
        }
    }

    public func runOnEveryThread(_ task: @escaping @Sendable () -> Void) {
        for loop in group.makeIterator() { try? loop.submit(task).wait() }
    }

    public func stop() {
        let channels = lock.withLock { idle }
        for channel in channels { try? channel.close().wait() }
        try? group.syncShutdownGracefully()
    }

    /// `GET <target>` and the answer's body.
    public func get(_ target: String) async throws -> [UInt8] {
        let channel = try await connection()
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: address.description)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        try await channel.pipeline.handler(type: ResponseCollector.self).flatMap { collector in
            collector.expect(promise)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            return channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        }.get()
        let body = try await promise.futureResult.get()
        lock.withLock { idle.append(channel) }
        return body
    }

    private func connection() async throws -> Channel {
        while let channel = lock.withLock({ idle.popLast() }) {
            if channel.isActive { return channel }
        }
        return try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector())
                }
            }
            .connect(host: address.host, port: Int(address.port)).get()
    }

    /// Collects one answer's body and fulfils the waiting promise.
    final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        private var promise: EventLoopPromise<[UInt8]>?
        private var body: [UInt8] = []

        func expect(_ promise: EventLoopPromise<[UInt8]>) {
            self.promise = promise
            body.removeAll(keepingCapacity: true)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: break
            case .body(let buffer): body.append(contentsOf: buffer.readableBytesView)
            case .end:
                promise?.succeed(body)
                promise = nil
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise?.fail(error)
            promise = nil
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise?.fail(ChannelError.ioOnClosedChannel)
            promise = nil
        }
    }
}
