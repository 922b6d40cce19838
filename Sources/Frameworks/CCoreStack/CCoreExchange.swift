import CCatCore
import Posix
import WireFormat
#if canImport(Glibc)
    import Glibc
#endif

/// One request and its answer, seen from a handler running on the C loop.
/// Everything it points at lives only during the handler call.
public struct CCoreExchange {
    let raw: OpaquePointer
    let scratch: WorkerScratch

    var request: UnsafePointer<cc_request> { cc_exchange_request(raw) }
    var match: UnsafePointer<cc_match> { cc_exchange_match(raw) }

    /// The request method as sent.
    public var method: String { string(request.pointee.method_text) }

    /// What middleware put into this request.
    public var context: CCoreContext {
        get { scratch.context }
        nonmutating set { scratch.context = newValue }
    }

    /// Runs async work from this sync handler and waits for it (the C-core
    /// design's "sync calling async"): the loop thread blocks meanwhile, and
    /// the work runs on the worker's own executor thread.
    public func awaitBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        guard let bridge = scratch.bridge else { fatalError("no async bridge: the server was started without one") }
        return bridge.runBlocking(body)
    }

    /// The worker's executor thread, on which later answers and awaited work
    /// run; its `sleep` waits on its own timer (no thread outside the server).
    public var executor: ThreadExecutor {
        guard let bridge = scratch.bridge else { fatalError("no async bridge: the server was started without one") }
        return bridge
    }

    /// A service from the app's container, in this request's scope.
    public func resolve<T>(_ type: T.Type = T.self) -> T {
        guard let container = scratch.container else { fatalError("no container") }
        scratch.scope.active = true
        return container.resolve(type, scope: scratch.scope) { make in
            self.awaitBlocking { UncheckedSendable(await make()) }.value
        }
    }

    /// Validates the JSON body against `schema`: the normalized document
    /// (written into a per-loop buffer) or every failure. nil when the body
    /// is not JSON.
    public func validateBody(_ schema: CCoreSchema) -> (
        document: JSONValue, normalized: [UInt8], failures: [CCoreSchema.Failure]
    )? {
        let slice = request.pointee.body
        guard let at = slice.at,
            let document = at.withMemoryRebound(
                to: UInt8.self, capacity: Int(slice.len),
                {
                    JSONValue.parse(UnsafeBufferPointer(start: $0, count: Int(slice.len)))
                })
        else { return nil }
        scratch.side.reset()
        let failures = schema.validate(document, into: &scratch.side)
        return (document, scratch.side.bytes, failures)
    }

    /// Answers with a middleware's early answer.
    public func answer(_ early: CCoreAnswer) {
        for (name, value) in early.headers { addHeader(name, value) }
        var body = early.json
        body.withUTF8 {
            respond(status: early.status, contentType: "application/json", body: UnsafeRawBufferPointer($0))
        }
    }

    /// 1 for HTTP/1.x, 2 for an HTTP/2 stream.
    public var httpVersion: Int { Int(cc_exchange_http_version(raw)) }

    /// The path (before `?`), not percent-decoded.
    public var path: String { string(request.pointee.path) }

    /// The raw body bytes (chunked bodies arrive decoded).
    public func withBody<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let slice = request.pointee.body
        return try body(UnsafeRawBufferPointer(start: slice.at, count: Int(slice.len)))
    }

    /// A header value, matched case-insensitively.
    public func header(_ name: String) -> String? {
        var name = name
        return name.withUTF8 { utf8 in
            utf8.withMemoryRebound(to: CChar.self) { chars in
                cc_request_header(request, chars.baseAddress, chars.count).map { string($0.pointee.value) }
            }
        }
    }

    /// The value of a `{name:int}` path parameter.
    public func intParameter(_ name: StaticString) -> Int? {
        parameter(named: name).map { Int($0.int_value) }
    }

    /// The text of a path parameter, not percent-decoded.
    public func parameter(_ name: StaticString) -> String? {
        parameter(named: name).map { string($0.value) }
    }

    /// The first decoded value of a query argument.
    public func query(_ name: String) -> String? {
        let q = request.pointee.query
        guard q.len > 0 else { return nil }
        return q.at.withMemoryRebound(to: UInt8.self, capacity: Int(q.len)) {
            QueryString.value(of: name, in: UnsafeBufferPointer(start: $0, count: Int(q.len)))
        }
    }

    /// Answers with `body` as text.
    public func text(_ body: StaticString, status: Int = 200) {
        body.withUTF8Buffer {
            respond(status: status, contentType: "text/plain; charset=utf-8", body: UnsafeRawBufferPointer($0))
        }
    }

    /// Answers with JSON written into the worker's reusable buffer: after the
    /// first requests this allocates nothing but what the handler itself does.
    public func json(status: Int = 200, _ write: (inout JSONWriter) -> Void) {
        scratch.json.reset()
        write(&scratch.json)
        scratch.json.bytes.withUnsafeBytes { respond(status: status, contentType: "application/json", body: $0) }
    }

    /// Adds a header to the answer (call before answering).
    public func addHeader(_ name: String, _ value: String) {
        var name = name
        var value = value
        name.withUTF8 { n in
            value.withUTF8 { v in
                _ = cc_exchange_add_header(
                    raw, UnsafeRawPointer(n.baseAddress!).assumingMemoryBound(to: CChar.self), n.count,
                    UnsafeRawPointer(v.baseAddress!).assumingMemoryBound(to: CChar.self), v.count)
            }
        }
    }

    /// Answers with raw bytes, after the middleware `after` steps.
    public func respond(status: Int, contentType: StaticString, body: UnsafeRawBufferPointer) {
        guard !scratch.responded else { return }
        scratch.responded = true
        var k = scratch.entered
        while k > 0 {
            k -= 1
            scratch.chain[k].after?(self, status)
        }
        contentType.withUTF8Buffer { ct in
            cc_respond(
                raw, Int32(status), UnsafeRawPointer(ct.baseAddress!).assumingMemoryBound(to: CChar.self), ct.count,
                body.baseAddress, body.count)
        }
        scratch.observer?.answered(status: status, nanoseconds: Clock.monotonicNanos() - scratch.context.startedAt)
    }

    /// Answers with the file the `{name:path}` parameter names beneath
    /// `mount`, by the C core's static server (ranges, validators, sendfile).
    public func serveFile(_ mount: CCoreStaticFolder, parameter name: StaticString) {
        guard !scratch.responded else { return }
        scratch.responded = true
        let status =
            parameter(named: name).map { cc_static_serve(raw, mount.mount, $0.value.at, Int($0.value.len)) }
            ?? cc_static_serve(raw, mount.mount, "", 0)
        scratch.observer?.answered(
            status: Int(status), nanoseconds: Clock.monotonicNanos() - scratch.context.startedAt)
    }

    private func parameter(named name: StaticString) -> cc_param? {
        let m = match.pointee
        return withUnsafeBytes(of: m.params) { raw -> cc_param? in
            let params = raw.bindMemory(to: cc_param.self)
            for i in 0..<Int(m.num_params) {
                let p = params[i]
                if Int(p.name.len) == name.utf8CodeUnitCount,
                    memcmp(p.name.at, name.utf8Start, Int(p.name.len)) == 0
                {
                    return p
                }
            }
            return nil
        }
    }

    private func string(_ slice: cc_slice) -> String {
        guard slice.len > 0, let at = slice.at else { return "" }
        return at.withMemoryRebound(to: UInt8.self, capacity: Int(slice.len)) {
            String(decoding: UnsafeBufferPointer(start: $0, count: Int(slice.len)), as: UTF8.self)
        }
    }
}

/// Per-loop buffers reused across requests.
final class WorkerScratch {
    var json = JSONWriter(capacity: 4096)
    /// A second reusable buffer, for a document built before the answer (a validated model).
    var side = JSONWriter(capacity: 4096)
    var context = CCoreContext()
    /// The current route's chain and how many of its `before` steps ran (their
    /// `after` steps run, innermost first, when the answer is written).
    var chain: [CCoreMiddleware] = []
    /// The current route's metrics observer, if the app has one.
    var observer: (any RouteObserver)?
    var entered = 0
    var responded = false
    let bridge: ThreadExecutor?
    let container: CCoreContainer?
    let scope: CCoreRequestScope

    init(bridge: ThreadExecutor?, container: CCoreContainer?) {
        self.bridge = bridge
        self.container = container
        scope = CCoreRequestScope(count: container?.serviceCount ?? 0)
    }
}

/// Thrown by a ccore handler to answer with an error status.
public struct CCoreError: Error {
    public let status: Int
    public let message: String

    public init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}
