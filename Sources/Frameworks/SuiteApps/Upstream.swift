import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Posix
import SharedLogic
import WireFormat

/// The upstream service the async-operations suite calls: HTTP/1.1 on
/// loopback, answering `GET /delay?n=K` with `{"n":K}` after a set delay. It
/// runs on a NIO loop of its own, outside the measured server's threads.
public final class UpstreamServer: @unchecked Sendable {
    public let address: Posix.SocketAddress
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    public init(delayMillis: Int = AsyncWork.upstreamDelayMillis) throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(DelayHandler(delay: .milliseconds(Int64(delayMillis))))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        address = try Posix.SocketAddress(host: "127.0.0.1", port: UInt16(channel.localAddress!.port!))
    }

    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    final class DelayHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let delay: TimeAmount
        var uri = ""

        init(delay: TimeAmount) { self.delay = delay }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): uri = head.uri
            case .body: break
            case .end:
                let n = QueryString.value(of: "n", in: Array(uri.utf8).drop { $0 != UInt8(ascii: "?") }.dropFirst()) ?? "0"
                let body = #"{"n":\#(Int(n) ?? 0)}"#
                let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                context.eventLoop.scheduleTask(in: delay) {
                    let (handler, context) = bound.value
                    var headers = HTTPHeaders()
                    headers.add(name: "Content-Type", value: "application/json")
                    headers.add(name: "Content-Length", value: String(body.utf8.count))
                    context.write(handler.wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                    context.write(handler.wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
                    context.writeAndFlush(handler.wrapOutboundOut(.end(nil)), promise: nil)
                }
            }
        }
    }
}

/// An async HTTP/1.1 client for the upstream, on NIO: keep-alive connections
/// reused from an idle list, one request at a time each. Its loop thread
/// starts with the server's hook, so its work counts as the server's.
public final class UpstreamClient: @unchecked Sendable {
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

    public func stop() {
        let channels = lock.withLock { idle }
        for channel in channels { try? channel.close().wait() }
        try? group.syncShutdownGracefully()
    }

    /// `GET /delay?n=<n>` and the answer's body.
    public func get(n: Int) async throws -> [UInt8] {
        let channel = try await connection()
        let promise = channel.eventLoop.makePromise(of: [UInt8].self)
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: address.description)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/delay?n=\(n)", headers: headers)
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
        if let channel = lock.withLock({ idle.popLast() }), channel.isActive { return channel }
        return try await ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
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
