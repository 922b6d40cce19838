import Atomics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Posix
import SuiteKit
import WireFormat

/// The upstream HTTP service the async-operations suite calls, started by
/// catbench once per run on a NIO loop of its own (neither a server's thread
/// nor the load generator's). Its own records are the ground truth of what a
/// server really did:
///
///     GET /delay?n=K[&ms=M][&group=G]   {"n":K} after M ms (default 2)
///     GET /groups/G                     {"calls":C,"max_in_flight":F} for a check group
///     GET /stats                        {"calls":<every /delay call so far>}
///
/// A group named `check-…` is held back until all ten calls of a fan-out are
/// in flight (or 200 ms passed), then answered: ten calls issued together
/// show ten in flight, ten made one after another show one.
public final class UpstreamService: SuiteService, @unchecked Sendable {
    public static let serviceName = "upstream"
    public static let checkGroupPrefix = "check-"
    /// How long a check group's first call waits for the others.
    static let barrierMillis: Int64 = 200

    public let address: Posix.SocketAddress
    /// nil for an upstream that runs elsewhere (`attach`).
    private let group: MultiThreadedEventLoopGroup?
    private let channel: Channel?
    let records = UpstreamRecords()

    private init(attachedTo address: Posix.SocketAddress) {
        self.address = address
        group = nil
        channel = nil
    }

    /// An upstream already running (another catbench's, `catbench upstream`): used, not started or stopped.
    public static func attach(_ address: Posix.SocketAddress) -> UpstreamService {
        UpstreamService(attachedTo: address)
    }

    init() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.group = group
        let records = self.records
        let channel: Channel
        do {
            channel = try ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 1024)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(UpstreamHandler(records: records))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw error
        }
        self.channel = channel
        address = try Posix.SocketAddress(host: "127.0.0.1", port: UInt16(channel.localAddress!.port!))
    }

    public static func start() throws -> UpstreamService { try UpstreamService() }

    public var environment: [String: String] { ["CATBENCH_UPSTREAM": address.description] }

    /// The kernel ids of the service's own threads (none for an attached upstream).
    public var threadIDs: [Int32] {
        guard let group else { return [] }
        return group.makeIterator().compactMap { try? $0.submit { currentThreadID() }.wait() }
    }

    public func stop() {
        try? channel?.close().wait()
        try? group?.syncShutdownGracefully()
    }
}

/// What the upstream saw, shared by its connections.
final class UpstreamRecords: Sendable {
    struct Group: Sendable {
        var calls = 0
        var inFlight = 0
        var maxInFlight = 0
        var held: [@Sendable () -> Void] = []
        var released = false
    }

    let total = ManagedAtomic<UInt64>(0)
    let groups = NIOLockedValueBox<[String: Group]>([:])
}

/// One connection's requests: answers `/delay` after its delay, holds check
/// groups at the barrier, reports groups and totals.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let records: UpstreamRecords
    private var uri = ""

    init(records: UpstreamRecords) { self.records = records }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): uri = head.uri
        case .body: break
        case .end: route(context: context)
        }
    }

    private func route(context: ChannelHandlerContext) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let query = Array(uri.utf8).drop { $0 != UInt8(ascii: "?") }.dropFirst()
        if path == "/stats" {
            answer(#"{"calls":\#(records.total.load(ordering: .relaxed))}"#, context: context)
        } else if path.hasPrefix("/groups/") {
            let name = QueryString.decode(path.dropFirst("/groups/".count).utf8)
            let group = records.groups.withLockedValue { $0[name] } ?? UpstreamRecords.Group()
            answer(#"{"calls":\#(group.calls),"max_in_flight":\#(group.maxInFlight)}"#, context: context)
        } else if path == "/delay" {
            delay(query: query, context: context)
        } else {
            answer(#"{"error":"not found"}"#, status: .notFound, context: context)
        }
    }

    private func delay(query: ArraySlice<UInt8>, context: ChannelHandlerContext) {
        records.total.wrappingIncrement(ordering: .relaxed)
        let n = Int(QueryString.value(of: "n", in: query) ?? "") ?? 0
        let millis = Int64(QueryString.value(of: "ms", in: query) ?? "") ?? Int64(AsyncWork.upstreamDelayMillis)
        let body = #"{"n":\#(n)}"#
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        let reply: @Sendable () -> Scheduled<Void> = {
            loop.scheduleTask(in: .milliseconds(max(0, min(millis, 10_000)))) {
                let (handler, context) = bound.value
                handler.answer(body, context: context)
            }
        }
        guard let name = QueryString.value(of: "group", in: query), name.hasPrefix(UpstreamService.checkGroupPrefix)
        else {
            _ = reply()
            return
        }
        // A check group: counted, and held until the fan-out is all in flight.
        let records = self.records
        let finish: @Sendable () -> Void = {
            _ = reply().futureResult.always { _ in records.groups.withLockedValue { $0[name]?.inFlight -= 1 } }
        }
        let release: [@Sendable () -> Void] = records.groups.withLockedValue { groups in
            var group = groups[name] ?? UpstreamRecords.Group()
            group.calls += 1
            group.inFlight += 1
            group.maxInFlight = max(group.maxInFlight, group.inFlight)
            if group.released {
                groups[name] = group
                return [finish]
            }
            group.held.append(finish)
            if group.held.count >= AsyncWork.fanout {
                group.released = true
                let held = group.held
                group.held = []
                groups[name] = group
                return held
            }
            if group.held.count == 1 {
                loop.scheduleTask(in: .milliseconds(UpstreamService.barrierMillis)) {
                    let late: [@Sendable () -> Void] = records.groups.withLockedValue { groups in
                        guard var group = groups[name], !group.released else { return [] }
                        group.released = true
                        let held = group.held
                        group.held = []
                        groups[name] = group
                        return held
                    }
                    for call in late { call() }
                }
            }
            groups[name] = group
            return []
        }
        for call in release { call() }
    }

    private func answer(_ body: String, status: HTTPResponseStatus = .ok, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "Content-Length", value: String(body.utf8.count))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

extension UpstreamService {
    /// A check group's record, asked of the upstream at `address` over HTTP
    /// (so a verifier can read an upstream it did not start).
    public static func groupRecord(_ group: String, at address: Posix.SocketAddress) throws -> (
        calls: Int, maxInFlight: Int
    ) {
        let client = ProbeClient(address: address)
        let response = try client.send(
            RequestSpec(target: "/groups/\(QueryString.encode(group))", expectation: Expectation(status: 200)))
        guard let doc = JSONValue.parse(response.body), let calls = doc["calls"]?.intValue,
            let inFlight = doc["max_in_flight"]?.intValue
        else {
            throw ServiceFailure(
                description: "the upstream at \(address) does not answer /groups/<name> (is it catbench's?)")
        }
        return (Int(calls), Int(inFlight))
    }

    /// Every `/delay` call the upstream at `address` has seen.
    public static func totalCalls(at address: Posix.SocketAddress) throws -> Int64 {
        let client = ProbeClient(address: address)
        let response = try client.send(RequestSpec(target: "/stats", expectation: Expectation(status: 200)))
        guard let calls = JSONValue.parse(response.body)?["calls"]?.intValue else {
            throw ServiceFailure(description: "the upstream at \(address) does not answer /stats (is it catbench's?)")
        }
        return calls
    }
}
