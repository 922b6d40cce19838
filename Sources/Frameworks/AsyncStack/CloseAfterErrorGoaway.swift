import NIOCore

/// Closes an HTTP/2 connection once it has sent GOAWAY for an error. RFC 9113 §5.4.1:
/// "After sending the GOAWAY frame for an error condition, the endpoint MUST close the TCP
/// connection." `NIOHTTP2Handler` writes that GOAWAY and reports the error up the pipeline,
/// but leaves the close to the application; left open, its frame decoder goes on buffering
/// whatever the peer sends (64 MB of CONTINUATION grew the server by 70 MB).
///
/// Sits between the socket (or TLS) and `NIOHTTP2Handler`, reading the outbound bytes as
/// the frame sequence they are (RFC 9113 §4.1: a 9-octet header whose first 24 bits are the
/// payload length), so it learns of a GOAWAY (type 0x07) and its error code whatever the
/// error was; a GOAWAY with NO_ERROR is a graceful shutdown and leaves the connection be.
/// From that GOAWAY on, inbound bytes are dropped, and the connection is closed once the
/// GOAWAY is written — or after `lingerLimit`, for a peer that does not read.
final class CloseAfterErrorGoaway: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// How long a GOAWAY that the peer does not read may hold the connection open.
    static let lingerLimit = TimeAmount.seconds(1)

    private static let goawayType: UInt8 = 0x07

    /// The frame header being read (up to 9 octets), then the payload octets still to skip.
    private var header: [UInt8] = []
    private var payloadLeft = 0
    /// Inside a GOAWAY's payload: its first 8 octets (last stream id, error code) as they come.
    private var goawayPrefix: [UInt8]?
    private var closing = false

    init() { header.reserveCapacity(9) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The connection is over: what the peer still sends must not pile up in the decoder.
        guard !closing else { return }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !closing else {
            context.write(data, promise: promise)
            return
        }
        let sawErrorGoaway: Bool
        switch unwrapOutboundIn(data) {
        case .byteBuffer(let buffer): sawErrorGoaway = scan(buffer.readableBytesView)
        case .fileRegion(let region):
            payloadLeft -= region.readableBytes  // only ever a DATA payload
            sawErrorGoaway = false
        }
        guard sawErrorGoaway else {
            context.write(data, promise: promise)
            return
        }
        closing = true
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        let deadline = context.eventLoop.scheduleTask(in: Self.lingerLimit) { context.close(promise: nil) }
        written.futureResult.whenComplete { _ in
            deadline.cancel()
            context.close(promise: nil)
        }
    }

    /// Follows the frame sequence over `bytes`; true when they complete the error code of a
    /// GOAWAY other than NO_ERROR.
    private func scan(_ bytes: ByteBufferView) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if payloadLeft > 0 {
                if goawayPrefix != nil {
                    goawayPrefix!.append(bytes[index])
                    index += 1
                    payloadLeft -= 1
                    if goawayPrefix!.count == 8 {
                        let code = goawayPrefix![4...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                        goawayPrefix = nil
                        if code != 0 { return true }
                    }
                    continue
                }
                let skip = min(payloadLeft, bytes.endIndex - index)
                index += skip
                payloadLeft -= skip
                continue
            }
            header.append(bytes[index])
            index += 1
            guard header.count == 9 else { continue }
            payloadLeft = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
            goawayPrefix = header[3] == Self.goawayType && payloadLeft >= 8 ? [] : nil
            header.removeAll(keepingCapacity: true)
        }
        return false
    }
}
