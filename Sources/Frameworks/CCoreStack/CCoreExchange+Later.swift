import CCatCore
import Posix
import WireFormat

/// An answer made after the handler returned.
public struct CCoreLaterAnswer: Sendable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]
    public var headers: [(name: String, value: String)]

    public init(
        status: Int = 200, contentType: String = "application/json", body: [UInt8],
        headers: [(name: String, value: String)] = []
    ) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.headers = headers
    }

    /// A JSON answer written with a fresh writer.
    public static func json(status: Int = 200, _ write: (inout JSONWriter) -> Void) -> CCoreLaterAnswer {
        var writer = JSONWriter()
        write(&writer)
        return CCoreLaterAnswer(status: status, body: writer.bytes)
    }
}

extension CCoreExchange {
    /// Answers later, without holding the loop: the exchange is handed off
    /// (the C core keeps later pipelined answers in order) and `work` runs on
    /// this loop's executor thread; its answer goes back to the loop to be
    /// written. Copy what `work` needs from the request first: the request
    /// views end with the handler. Middleware `after` steps do not run on a
    /// later answer.
    public func respondLater(_ work: @escaping @Sendable () async -> CCoreLaterAnswer) {
        guard let bridge = scratch.bridge else { fatalError("no executor for later answers") }
        guard let handle = cc_exchange_defer(raw) else {
            // Cannot be deferred: wait for the work on the loop instead.
            let answer = bridge.runBlocking(work)
            for (name, value) in answer.headers { addHeader(name, value) }
            answer.body.withUnsafeBytes { respondRaw(status: answer.status, contentType: answer.contentType, body: $0) }
            return
        }
        scratch.responded = true
        let deferred = DeferredHandle(handle)
        let observer = scratch.observer
        let startedAt = scratch.context.startedAt
        Task(executorPreference: bridge) {
            let answer = await work()
            deferred.respond(answer)
            observer?.answered(status: answer.status, nanoseconds: Clock.monotonicNanos() - startedAt)
        }
    }

    /// Answers with a content type known only at run time.
    public func respondRaw(status: Int, contentType: String, body: UnsafeRawBufferPointer) {
        var type = contentType
        type.withUTF8 { ct in
            cc_respond(
                raw, Int32(status), UnsafeRawPointer(ct.baseAddress!).assumingMemoryBound(to: CChar.self), ct.count,
                body.baseAddress, body.count)
        }
        scratch.observer?.answered(status: status, nanoseconds: Clock.monotonicNanos() - scratch.context.startedAt)
    }
}

/// A deferred exchange, completed from any thread exactly once.
final class DeferredHandle: @unchecked Sendable {
    private let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    func respond(_ answer: CCoreLaterAnswer) {
        for (name, value) in answer.headers {
            var name = name
            var value = value
            name.withUTF8 { n in
                value.withUTF8 { v in
                    _ = cc_deferred_add_header(
                        handle, UnsafeRawPointer(n.baseAddress!).assumingMemoryBound(to: CChar.self), n.count,
                        UnsafeRawPointer(v.baseAddress!).assumingMemoryBound(to: CChar.self), v.count)
                }
            }
        }
        var type = answer.contentType
        type.withUTF8 { ct in
            answer.body.withUnsafeBytes { body in
                cc_deferred_respond(
                    handle, Int32(answer.status), UnsafeRawPointer(ct.baseAddress!).assumingMemoryBound(to: CChar.self),
                    ct.count, body.baseAddress, body.count)
            }
        }
    }
}
