import CCatCore
import ParserCorpus
import Testing

/// Every case of the shared corpus, parsed three ways: whole, byte by byte,
/// and split in two at every position. All must give the expected outcomes.
@Suite("ccore HTTP/1.1 parser")
struct ParserCaseTests {
    static let cases: [ParserCase] = (try? ParserCase.load()) ?? []

    @Test("the corpus is there and large")
    func corpusLoaded() {
        #expect(Self.cases.count >= 150)
    }

    @Test("each case parsed whole, byte by byte and split at every point", arguments: cases)
    func parse(_ testCase: ParserCase) {
        let whole = Feeder.run(testCase, pieces: [testCase.raw.count])
        #expect(whole == testCase.expected, "whole")
        let bytewise = Feeder.run(testCase, pieces: Array(repeating: 1, count: testCase.raw.count))
        #expect(bytewise == testCase.expected, "byte by byte")
        if testCase.raw.count > 1 {
            for split in 1..<testCase.raw.count {
                let outcome = Feeder.run(testCase, pieces: [split, testCase.raw.count - split])
                if outcome != testCase.expected {
                    Issue.record("split at \(split): \(outcome) != \(testCase.expected)")
                    break
                }
            }
        }
    }
}

/// Feeds a case's bytes to the C parser in pieces, as a connection would.
enum Feeder {
    static func run(_ testCase: ParserCase, pieces: [Int]) -> [ParserCase.Outcome] {
        let capacity = testCase.raw.count + 1
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
        let request = UnsafeMutablePointer<cc_request>.allocate(capacity: 1)
        defer {
            buffer.deallocate()
            request.deallocate()
        }
        var parser = cc_parser()
        let limits = cc_limits(
            max_header_bytes: testCase.limits.maxHeaderBytes, max_headers: testCase.limits.maxHeaders,
            max_body_bytes: testCase.limits.maxBodyBytes)
        cc_parser_init(&parser, limits)
        var length = 0
        var fed = 0
        var outcomes: [ParserCase.Outcome] = []
        for piece in pieces {
            for k in 0..<piece { buffer[length + k] = CChar(bitPattern: testCase.raw[fed + k]) }
            length += piece
            fed += piece
            while length > 0 {
                let rc = cc_parse_request(&parser, buffer, length, request)
                if rc < 0 {
                    outcomes.append(.error(Int(-rc)))
                    return outcomes
                }
                if rc == 0 { break }
                outcomes.append(describe(request.pointee, expected: testCase.expected, index: outcomes.count))
                let used = Int(rc)
                (buffer).update(from: buffer + used, count: length - used)
                length -= used
                cc_parser_reset(&parser)
            }
        }
        if length > 0 { outcomes.append(.incomplete) }
        return outcomes
    }

    /// The fields the expectation lists, read from the parsed request.
    static func describe(_ r: cc_request, expected: [ParserCase.Outcome], index: Int) -> ParserCase.Outcome {
        guard index < expected.count, case .request(let wanted, let wantedHeaders) = expected[index] else {
            return .request(["method": bytes(r.method_text)], headers: nil)
        }
        var fields: [String: [UInt8]] = [:]
        for key in wanted.keys {
            switch key {
            case "method": fields[key] = bytes(r.method_text)
            case "method-id": fields[key] = Array(methodName(r.method).utf8)
            case "target": fields[key] = bytes(r.target)
            case "path": fields[key] = bytes(r.path)
            case "query": fields[key] = bytes(r.query)
            case "version": fields[key] = Array(String(r.version_minor).utf8)
            case "keep-alive": fields[key] = Array(String(r.keep_alive).utf8)
            case "chunked": fields[key] = Array(String(r.chunked).utf8)
            case "expect-continue": fields[key] = Array(String(r.expect_continue).utf8)
            case "body": fields[key] = bytes(r.body)
            default: fields[key] = Array("unknown field \(key)".utf8)
            }
        }
        var headers: [[UInt8]]?
        if wantedHeaders != nil {
            var list: [[UInt8]] = []
            withUnsafeBytes(of: r.headers) { raw in
                let h = raw.bindMemory(to: cc_header.self)
                for i in 0..<Int(r.num_headers) {
                    list.append(bytes(h[i].name) + Array(": ".utf8) + bytes(h[i].value))
                }
            }
            headers = list
        }
        return .request(fields, headers: headers)
    }

    static func bytes(_ s: cc_slice) -> [UInt8] {
        guard s.len > 0, let at = s.at else { return [] }
        return (0..<Int(s.len)).map { UInt8(bitPattern: at[$0]) }
    }

    static func methodName(_ m: cc_method) -> String {
        switch m {
        case CC_METHOD_GET: return "GET"
        case CC_METHOD_HEAD: return "HEAD"
        case CC_METHOD_POST: return "POST"
        case CC_METHOD_PUT: return "PUT"
        case CC_METHOD_DELETE: return "DELETE"
        case CC_METHOD_PATCH: return "PATCH"
        case CC_METHOD_OPTIONS: return "OPTIONS"
        default: return "OTHER"
        }
    }
}
