import NIOCore

/// Where an HTTP/1.1 connection is between requests: shared by the
/// connection's `HeadTimeout` (which sees raw bytes) and its request handler
/// (which sees decoded heads). Both run on the connection's event loop.
final class HeadClock {
    /// True until the current request's head is complete.
    fileprivate(set) var awaitingHead = true
    fileprivate var deadline: Scheduled<Void>?

    func headArrived() {
        awaitingHead = false
        deadline?.cancel()
        deadline = nil
    }

    func answered() { awaitingHead = true }
}

/// Closes a connection whose request head does not arrive whole within the
/// time allowed from its first byte — a client sending a byte a second holds
/// nothing for longer (slowloris). Sits first in the pipeline.
final class HeadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let clock: HeadClock
    private let timeout: TimeAmount

    init(clock: HeadClock, seconds: Double) {
        self.clock = clock
        timeout = .nanoseconds(Int64(seconds * 1e9))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if clock.awaitingHead && clock.deadline == nil {
            let channel = context.channel
            clock.deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clock.deadline?.cancel()
        clock.deadline = nil
        context.fireChannelInactive()
    }
}
