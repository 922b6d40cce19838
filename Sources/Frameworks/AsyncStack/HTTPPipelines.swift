import NIOCore
import NIOHTTP1
import NIOHTTP2
import NIOSSL
import NIOTLS

/// Builds each connection's pipeline: HTTP/1.1, HTTP/2 (every stream turned
/// into HTTP/1-style parts so one request handler serves both), h2c found by
/// its preface, or TLS with ALPN choosing between the two.
struct HTTPPipelines: Sendable {
    let app: AsyncApp
    let configuration: AsyncConfiguration
    let executors: ExecutorTable
    let counter: RequestCounter
    let tls: NIOSSLContext?

    init(app: AsyncApp, configuration: AsyncConfiguration, executors: ExecutorTable, counter: RequestCounter) throws {
        self.app = app
        self.configuration = configuration
        self.executors = executors
        self.counter = counter
        if let material = configuration.tls {
            let certificate = try NIOSSLCertificate(bytes: Array(material.certificatePEM.utf8), format: .pem)
            let key = try NIOSSLPrivateKey(bytes: Array(material.privateKeyPEM.utf8), format: .pem)
            var tlsConfiguration = TLSConfiguration.makeServerConfiguration(
                certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
            tlsConfiguration.applicationProtocols = ["h2", "http/1.1"]
            tls = try NIOSSLContext(configuration: tlsConfiguration)
        } else {
            tls = nil
        }
    }

    /// Sets up a newly accepted connection.
    func configure(_ channel: Channel) throws {
        let sync = channel.pipeline.syncOperations
        if let tls {
            try sync.addHandler(NIOSSLServerHandler(context: tls))
            try sync.addHandler(
                ApplicationProtocolNegotiationHandler { result, channel in
                    channel.eventLoop.makeCompletedFuture {
                        if case .negotiated("h2") = result {
                            try self.configureHTTP2(channel)
                        } else {
                            try self.configureHTTP1(channel)
                        }
                    }
                })
        } else if configuration.h2c {
            try sync.addHandler(PrefaceSniffer(pipelines: self))
        } else {
            try configureHTTP1(channel)
        }
    }

    func configureHTTP1(_ channel: Channel) throws {
        let sync = channel.pipeline.syncOperations
        let clock = HeadClock()
        try sync.addHandler(HeadTimeout(clock: clock, seconds: configuration.headerTimeoutSeconds), position: .first)
        try sync.configureHTTPServerPipeline(withErrorHandling: false)
        try sync.addHandler(ProtocolErrorAnswer(serverName: configuration.serverName))
        // File regions are sendfile: only where the socket takes the bytes as they are.
        try sync.addHandler(requestHandler(channel, clock: clock, fileRegions: tls == nil))
    }

    func configureHTTP2(_ channel: Channel) throws {
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: 256),
            HTTP2Setting(parameter: .initialWindowSize, value: 1 << 20),
            // Also what one field block may take before it is decoded: the frame decoder
            // refuses HEADERS + CONTINUATION whose octets pass it (a connection error).
            HTTP2Setting(parameter: .maxHeaderListSize, value: 16384),
        ]
        // RFC 9113 §6.10 sets no limit on CONTINUATION frames; a peer sending them without
        // END_HEADERS gets ENHANCE_YOUR_CALM after this many (swift-nio-http2's default, made
        // explicit because the bound on a field block's memory rests on it and the setting above).
        connection.maximumSequentialContinuationFrames = 5
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = 1 << 20
        // Before NIOHTTP2Handler, so it sees the frames that handler writes.
        try channel.pipeline.syncOperations.addHandler(CloseAfterErrorGoaway())
        _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: stream
        ) { streamChannel in
            streamChannel.eventLoop.makeCompletedFuture {
                let sync = streamChannel.pipeline.syncOperations
                try sync.addHandler(HTTP2FramePayloadToHTTP1ServerCodec())
                try sync.addHandler(self.requestHandler(streamChannel))
            }
        }
    }

    private func requestHandler(_ channel: Channel, clock: HeadClock? = nil, fileRegions: Bool = false)
        -> RequestHandler
    {
        RequestHandler(
            app: app, configuration: configuration, executor: executors.executor(for: channel.eventLoop),
            counter: counter,
            clock: clock, fileRegions: fileRegions)
    }
}

/// Waits for the first bytes of a cleartext connection: the HTTP/2 preface
/// (RFC 9113 §3.4) makes it an h2c connection, anything else HTTP/1.1.
final class PrefaceSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private let pipelines: HTTPPipelines
    private var buffered: ByteBuffer?

    init(pipelines: HTTPPipelines) { self.pipelines = pipelines }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        if buffered == nil { buffered = chunk } else { buffered!.writeBuffer(&chunk) }
        let seen = buffered!.readableBytesView
        let n = min(seen.count, Self.preface.count)
        let isPreface = seen.prefix(n).elementsEqual(Self.preface.prefix(n))
        if isPreface && n < Self.preface.count { return }  // not decided yet
        // Step aside, put the chosen protocol's handlers in, and hand them the bytes seen so far.
        let channel = context.channel
        let bytes = buffered!
        buffered = nil
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        do {
            if isPreface {
                try pipelines.configureHTTP2(channel)
            } else {
                try pipelines.configureHTTP1(channel)
            }
        } catch {
            channel.close(promise: nil)
            return
        }
        channel.pipeline.fireChannelRead(bytes)
    }
}
