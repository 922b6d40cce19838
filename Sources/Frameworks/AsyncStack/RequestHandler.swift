import Atomics
import NIOCore
import NIOHTTP1
import WireFormat

#if canImport(Glibc)
    import Glibc
#endif

/// Collects a request's parts and, at its end, starts the task that answers it.
final class RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let app: AsyncApp
    private let configuration: AsyncConfiguration
    private let executor: EventLoopTaskExecutor
    private let counter: RequestCounter
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false
    private var dates = HTTPDate.Cache()
    /// HTTP/1.1 connections: told when a head is complete and when its answer is written.
    private let clock: HeadClock?
    /// File bodies as file regions (sendfile): on cleartext HTTP/1.1 only.
    private let fileRegions: Bool

    init(
        app: AsyncApp, configuration: AsyncConfiguration, executor: EventLoopTaskExecutor, counter: RequestCounter,
        clock: HeadClock? = nil, fileRegions: Bool = false
    ) {
        self.app = app
        self.configuration = configuration
        self.executor = executor
        self.counter = counter
        self.clock = clock
        self.fileRegions = fileRegions
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            clock?.headArrived()
            self.head = head
            body = nil
            tooLarge = false
            // A declared length over the limit is refused from the head, before any body is read.
            if let declared = head.headers.first(name: "content-length").flatMap(Int.init),
                declared > configuration.maxBodyBytes
            {
                self.head = nil
                tooLarge = true
                write(
                    AsyncResponse.error(.payloadTooLarge, "body too large"), for: head, keepAlive: false,
                    context: context)
            }
        case .body(var chunk):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > configuration.maxBodyBytes {
                tooLarge = true
                body = nil
                return
            }
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            if tooLarge {
                write(
                    AsyncResponse.error(.payloadTooLarge, "body too large"), for: head, keepAlive: false,
                    context: context)
                return
            }
            let body = self.body
            self.body = nil
            let app = self.app
            let loop = context.eventLoop
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            Task(executorPreference: executor) {
                let response = await app.respond(to: head, body: body, on: loop)
                let loop = bound.eventLoop
                if loop.inEventLoop {
                    handler.value.write(response, for: head, keepAlive: head.isKeepAlive, context: bound.value)
                } else {
                    loop.execute {
                        handler.value.write(response, for: head, keepAlive: head.isKeepAlive, context: bound.value)
                    }
                }
            }
        }
    }

    private func write(
        _ response: AsyncResponse, for request: HTTPRequestHead, keepAlive: Bool, context: ChannelHandlerContext
    ) {
        var keepAlive = keepAlive
        var headers = response.headers
        headers.add(name: "Server", value: configuration.serverName)
        headers.add(name: "Date", value: dates.current())
        // RFC 9110 §8.6: no Content-Length on 204 and 304.
        if response.status != .noContent && response.status != .notModified {
            headers.add(name: "Content-Length", value: String(response.declaredLength ?? response.body.readableBytes))
        }
        // An HTTP/2 stream ends with its answer; connection fields do not exist there (RFC 9113 §8.2.2).
        let http2 = request.version.major == 2
        if http2 {
            keepAlive = true
        } else if !keepAlive {
            headers.add(name: "Connection", value: "close")
        } else if request.version.minor == 0 {
            headers.add(name: "Connection", value: "keep-alive")
        }
        let head = HTTPResponseHead(version: .http1_1, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD && response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        counter.increment()
        clock?.answered()
        let end = { [keepAlive] in
            if keepAlive {
                context.writeAndFlush(self.wrapOutboundOut(.end(nil)), promise: nil)
            } else {
                let channel = context.channel
                context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
            }
        }
        guard let file = response.file else { return end() }
        guard request.method != .HEAD, file.length > 0 else {
            file.close()
            return end()
        }
        if fileRegions {
            let handle = NIOFileHandle(_deprecatedTakingOwnershipOfDescriptor: file.fd)
            let region = FileRegion(fileHandle: handle, readerIndex: file.offset, endIndex: file.offset + file.length)
            context.write(wrapOutboundOut(.body(.fileRegion(region)))).whenComplete { _ in try? handle.close() }
            return end()
        }
        writeBlocks(file, from: file.offset, left: file.length, context: context, then: end)
    }

    /// A file body in blocks over TLS or HTTP/2 (no file regions there): the
    /// next block is read when the last one is written, so a slow reader
    /// holds one block, not the file.
    private func writeBlocks(
        _ file: StaticFiles.Body, from offset: Int, left: Int, context: ChannelHandlerContext,
        then end: @escaping () -> Void
    ) {
        let size = min(left, 64 << 10)
        var buffer = context.channel.allocator.buffer(capacity: size)
        let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { raw in
            max(0, pread(file.fd, raw.baseAddress, size, off_t(offset)))
        }
        guard n > 0 else {
            file.close()
            context.close(promise: nil)  // the file shrank: the framing is lost
            return
        }
        let done = n >= left
        let write = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))))
        if done {
            file.close()
            return end()
        }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        write.whenComplete { result in
            let (handler, context) = bound.value
            guard case .success = result else { return file.close() }
            handler.writeBlocks(file, from: offset + n, left: left - n, context: context, then: end)
        }
    }
}
