import ParserCorpus
import Testing
@testable import ThreadedStack

/// The threaded stack's own parser against the corpus written for the C core:
/// it must accept what the C core accepts, with the same fields, and refuse
/// what it refuses (an error status, not necessarily the same one) -- fed
/// whole, byte by byte, and split in two at every point, as reads would feed it.
@Suite("threaded stack HTTP/1.1 parser")
struct ThreadedParserTests {
    /// The cases `Tests/Fixtures/http1-requests.cases` holds today; fewer means it was cut.
    static let corpusSize = 202

    struct LoadFailure: Error, CustomStringConvertible {
        let description: String
    }

    static let loaded: Result<[ParserCase], LoadFailure> = Result { try ParserCase.load() }.mapError {
        LoadFailure(description: "the parser corpus did not load: \($0)")
    }
    static let cases: [ParserCase] = (try? loaded.get()) ?? []

    /// Without this, a missing corpus would leave the test below with no arguments, and pass.
    @Test("the corpus loaded, every case of it")
    func corpusLoaded() throws {
        let cases = try Self.loaded.get()
        #expect(cases.count >= Self.corpusSize, "the corpus holds \(cases.count) cases, not \(Self.corpusSize) or more")
        #expect(cases.allSatisfy { !$0.raw.isEmpty && !$0.expected.isEmpty }, "a case without bytes or verdict")
    }

    @Test(
        "each case parsed whole, byte by byte and split at every point gets the C core's verdicts",
        arguments: cases)
    func corpus(_ c: ParserCase) {
        let want = Self.expected(c)
        #expect(Self.parse(c, pieces: [c.raw.count], expected: want) == want, "whole")
        #expect(Self.parse(c, pieces: Array(repeating: 1, count: c.raw.count), expected: want) == want, "byte by byte")
        for split in 1..<max(1, c.raw.count) {
            let got = Self.parse(c, pieces: [split, c.raw.count - split], expected: want)
            if got != want {
                Issue.record("split at \(split): \(got) != \(want)")
                break
            }
        }
    }

    enum Verdict: Equatable, CustomStringConvertible {
        case request(method: String, target: String, version: String, keepAlive: String, body: [UInt8]?)
        case error
        case incomplete

        var description: String {
            switch self {
            case .request(let m, let t, let v, let k, let b):
                return "request(\(m) \(t) 1.\(v) keep-alive \(k), \(b.map { "\($0.count)" } ?? "?") body bytes)"
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
                return .request(
                    method: text("method"), target: text("target"), version: text("version"),
                    keepAlive: text("keep-alive"), body: fields["body"])
            }
        }
    }

    /// Feeds the case's bytes in pieces of these sizes, as a connection's reads
    /// would: each piece is appended to the buffer, every whole request in it
    /// is taken, and parsing stops at the first error. Bytes left at the end
    /// are an unfinished request.
    static func parse(_ c: ParserCase, pieces: [Int], expected: [Verdict]) -> [Verdict] {
        let parser = RequestParser(
            limits: .init(
                maxHeadBytes: Int(c.limits.maxHeaderBytes),
                maxHeaders: Int(c.limits.maxHeaders),
                maxBodyBytes: Int(c.limits.maxBodyBytes)))
        var buffer: [UInt8] = []
        var fed = 0
        var verdicts: [Verdict] = []
        for piece in pieces {
            buffer += c.raw[fed..<(fed + piece)]
            fed += piece
            parsing: while !buffer.isEmpty {
                switch parser.parse(buffer) {
                case .incomplete:
                    break parsing
                case .error:
                    verdicts.append(.error)
                    return verdicts
                case .request(let r, let consumed):
                    let wanted = verdicts.count < expected.count ? expected[verdicts.count] : nil
                    verdicts.append(describe(r, expected: wanted))
                    buffer.removeFirst(consumed)
                }
            }
        }
        if !buffer.isEmpty { verdicts.append(.incomplete) }
        return verdicts
    }

    /// The request as a verdict, with only the fields the expectation lists (the rest "?").
    static func describe(_ r: RequestParser.ParsedRequest, expected: Verdict?) -> Verdict {
        let keepAlive = r.keepAlive ? "1" : "0"
        guard case .request(let m, let t, let v, let k, let b) = expected else {
            return .request(
                method: r.method, target: r.target, version: String(r.versionMinor), keepAlive: keepAlive,
                body: r.body)
        }
        return .request(
            method: m == "?" ? "?" : r.method, target: t == "?" ? "?" : r.target,
            version: v == "?" ? "?" : String(r.versionMinor), keepAlive: k == "?" ? "?" : keepAlive,
            body: b == nil ? nil : r.body)
    }
}
