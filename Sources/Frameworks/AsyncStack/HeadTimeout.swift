import NIOCore

/// Where an HTTP/1.1 connection is between requests: shared by the
/// connection's `HeadTimeout` (which sees raw bytes) and its request handler
/// (which sees decoded heads). Both run on the connection's event loop.
final class HeadClock {
    /// True until the current request's head is complete.
    fileprivate(set) var awaitingHead = true
    /// When the first byte of the current, still unfinished, head arrived.
    fileprivate var headStartedAt: NIODeadline?

    func headArrived() {
        awaitingHead = false
        headStartedAt = nil
    }

    func answered() { awaitingHead = true }
}

/// Closes a connection whose request head does not arrive whole within the
/// time allowed from its first byte — a client sending a byte a second holds
/// nothing for longer (slowloris). Sits first in the pipeline. One repeating
/// check per connection, so that a request costs a clock read, not a timer.
final class HeadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let clock: HeadClock
    private let timeout: TimeAmount
    private var check: RepeatedTask?

    init(clock: HeadClock, seconds: Double) {
        self.clock = clock
        timeout = .nanoseconds(Int64(seconds * 1e9))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if clock.awaitingHead && clock.headStartedAt == nil {
            clock.headStartedAt = .now()
            if check == nil { startChecking(context) }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        context.fireChannelInactive()
    }

    /// Every quarter of the timeout: is a head overdue?
    private func startChecking(_ context: ChannelHandlerContext) {
        // The check runs on the connection's own loop, where the clock lives.
        let clock = NIOLoopBound(self.clock, eventLoop: context.eventLoop)
        let timeout = self.timeout
        let channel = context.channel
        let period = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 10_000_000))
        check = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { task in
            if let started = clock.value.headStartedAt, NIODeadline.now() - started >= timeout {
                task.cancel()
                channel.close(promise: nil)
            }
        }
    }
}
