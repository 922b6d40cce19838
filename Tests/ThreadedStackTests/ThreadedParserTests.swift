import ParserCorpus
import Testing
@testable import ThreadedStack

/// The threaded stack's own parser against the corpus written for the C core:
/// it must accept what the C core accepts, with the same fields, and refuse
/// what it refuses (an error status, not necessarily the same one).
@Suite("threaded stack HTTP/1.1 parser")
struct ThreadedParserTests {
    static let cases: [ParserCase] = (try? ParserCase.load()) ?? []

    enum Verdict: Equatable, CustomStringConvertible {
        case request(method: String, target: String, version: String, keepAlive: String, body: [UInt8]?)
        case error
        case incomplete

        var description: String {
            switch self {
            case .request(let m, let t, let v, let k, let b): return "request(\(m) \(t) 1.\(v) keep-alive \(k), \(b.map { "\($0.count)" } ?? "?") body bytes)"
            case .error: return "error"
            case .incomplete: return "incomplete"
            }
        }
    }

    static func expected(_ c: ParserCase) -> [Verdict] {
        c.expected.map { outcome in
            switch outcome {
            case .error: return .error
            case .incomplete: return .incomplete
            case .request(let fields, _):
                func text(_ key: String) -> String { fields[key].map { String(decoding: $0, as: UTF8.self) } ?? "?" }
                return .request(method: text("method"), target: text("target"), version: text("version"),
                                keepAlive: text("keep-alive"), body: fields["body"])
            }
        }
    }

    static func parse(_ c: ParserCase, expected: [Verdict]) -> [Verdict] {
        let parser = RequestParser(limits: .init(maxHeadBytes: Int(c.limits.maxHeaderBytes), maxHeaders: Int(c.limits.maxHeaders),
                                                 maxBodyBytes: Int(c.limits.maxBodyBytes)))
        var buffer = c.raw
        var verdicts: [Verdict] = []
        while !buffer.isEmpty {
            switch parser.parse(buffer) {
            case .incomplete:
                verdicts.append(.incomplete)
                return verdicts
            case .error:
                verdicts.append(.error)
                return verdicts
            case .request(let r, let consumed):
                // Only the fields the case lists are compared.
                var got = Verdict.request(method: r.method, target: r.target, version: String(r.versionMinor),
                                          keepAlive: r.keepAlive ? "1" : "0", body: r.body)
                if verdicts.count < expected.count, case .request(let m, let t, let v, let k, let b) = expected[verdicts.count] {
                    got = .request(method: m == "?" ? "?" : r.method, target: t == "?" ? "?" : r.target,
                                   version: v == "?" ? "?" : String(r.versionMinor),
                                   keepAlive: k == "?" ? "?" : (r.keepAlive ? "1" : "0"), body: b == nil ? nil : r.body)
                }
                verdicts.append(got)
                buffer.removeFirst(consumed)
            }
        }
        return verdicts
    }

    @Test("each corpus case gets the C core's verdict", arguments: cases)
    func corpus(_ c: ParserCase) {
        let want = Self.expected(c)
        #expect(Self.parse(c, expected: want) == want)
    }
}
