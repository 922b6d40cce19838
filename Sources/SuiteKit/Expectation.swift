import WireFormat

/// One thing wrong with an answer. A failure keeps the workloads it concerns
/// from being measured; a warning is shown beside the figures; a waived part
/// is one the server declared it cannot express (shown with the reason).
public struct Finding: Sendable, Codable, Equatable, CustomStringConvertible {
    public enum Level: String, Sendable, Codable { case failure, warning, waived }
    public var level: Level
    public var check: String
    public var message: String
    /// The workloads whose measurement this finding concerns; empty: every workload of the suite.
    public var workloads: [String]

    public init(level: Level, check: String, message: String, workloads: [String] = []) {
        self.level = level
        self.check = check
        self.message = message
        self.workloads = workloads
    }

    public var description: String {
        let tag = level == .failure ? "FAIL" : (level == .warning ? "warn" : "waived")
        return "\(tag) \(check): \(message)"
    }
}

/// A part of a check that a framework may declare it cannot express (the
/// list of every failing field by path); a waiver skips this part only.
public struct ExpectationAspect: Sendable {
    public let name: String
    public let check: @Sendable (HTTPResponse) -> String?

    public init(_ name: String, check: @escaping @Sendable (HTTPResponse) -> String?) {
        self.name = name
        self.check = check
    }
}

/// What a correct answer to one request looks like.
public struct Expectation: Sendable {
    public enum Body: Sendable {
        case any
        case text(String)
        /// A JSON check returning a problem, or nil when the document is right.
        case json(@Sendable (JSONValue) -> String?)
        /// A check of the raw bytes (an HTML page compared after normalising), with what it checks.
        case bytes(String, @Sendable ([UInt8]) -> String?)
    }

    public var statuses: Set<Int>
    public var mediaType: String?
    public var body: Body
    /// Headers every answer should carry; a missing one is a warning.
    public var recommendedHeaders: [String]
    /// Headers the answer must carry (with this value, compared
    /// case-insensitively, or any value when nil); a missing one is a failure.
    public var requiredHeaders: [(name: String, value: String?)] = []
    /// Headers the answer must not carry.
    public var forbiddenHeaders: [String] = []
    /// Waivable parts, checked after everything above has passed.
    public var aspects: [ExpectationAspect] = []
    /// The verifier's client waits a moment after the answer for bytes that
    /// should not be there (a body after HEAD or 304, a second answer), in
    /// `HTTPResponse.strayBytes`, for an aspect to judge.
    public var watchForStrayBytes = false

    public init(
        status: Int, mediaType: String? = nil, body: Body = .any,
        recommendedHeaders: [String] = Expectation.standardHeaders
    ) {
        self.init(statuses: [status], mediaType: mediaType, body: body, recommendedHeaders: recommendedHeaders)
    }

    public init(
        statuses: Set<Int>, mediaType: String? = nil, body: Body = .any,
        recommendedHeaders: [String] = Expectation.standardHeaders
    ) {
        self.statuses = statuses
        self.mediaType = mediaType
        self.body = body
        self.recommendedHeaders = recommendedHeaders
    }

    public static let standardHeaders = ["Date", "Server", "Content-Type", "Content-Length"]

    /// The main status, used by the load generator to count wrong answers cheaply.
    public var primaryStatus: Int { statuses.min() ?? 200 }

    /// Everything wrong with `response`, failures and warnings, for the check
    /// named `check`; `waived` gives the reason an aspect is waived, or nil.
    /// `method`: the request's; a HEAD answer has no body whatever its Content-Length says.
    public func findings(
        for response: HTTPResponse, check: String, method: String = "GET",
        waived: (String) -> String? = { _ in nil }
    ) -> [Finding] {
        var found: [Finding] = []
        func fail(_ m: String) { found.append(Finding(level: .failure, check: check, message: m)) }
        func warn(_ m: String) { found.append(Finding(level: .warning, check: check, message: m)) }

        guard statuses.contains(response.status) else {
            let wanted = statuses.sorted().map(String.init).joined(separator: " or ")
            fail("status \(response.status), expected \(wanted); body: \(response.bodyText.prefix(120))")
            return found
        }
        if let mediaType {
            if let actual = response.mediaType {
                if actual != mediaType { fail("Content-Type is \(actual), expected \(mediaType)") }
            } else {
                fail("no Content-Type header, expected \(mediaType)")
            }
        }
        switch body {
        case .any:
            break
        case .text(let text):
            if response.bodyText != text {
                fail("body is \"\(response.bodyText.prefix(120))\", expected \"\(text)\"")
            }
        case .bytes(_, let validate):
            if let problem = validate(response.body) { fail(problem) }
        case .json(let validate):
            if let document = JSONValue.parse(response.body) {
                if let problem = validate(document) { fail(problem) }
            } else {
                fail("body is not JSON: \(response.bodyText.prefix(120))")
            }
        }
        for (name, value) in requiredHeaders {
            guard let actual = response.header(name) else {
                fail("no \(name) header")
                continue
            }
            if let value, actual.lowercased() != value.lowercased() {
                fail("\(name) is '\(actual)', expected '\(value)'")
            }
        }
        for name in forbiddenHeaders where response.header(name) != nil {
            fail("has a \(name) header ('\(response.header(name)!)') it must not have")
        }
        for name in recommendedHeaders where response.header(name) == nil {
            if name == "Content-Type" && mediaType != nil { continue }  // already a failure above
            warn("no \(name) header")
        }
        if let date = response.header("Date"), !HTTPDate.isValid(date) {
            warn("Date header '\(date)' is not an IMF-fixdate (RFC 9110 §5.6.7)")
        }
        if let length = response.header("Content-Length"), Int(length) != response.body.count,
            response.status != 204, response.status != 304, method != "HEAD"
        {
            fail("Content-Length \(length) but the body has \(response.body.count) bytes")
        }
        guard !found.contains(where: { $0.level == .failure }) else { return found }
        for aspect in aspects {
            if let reason = waived(aspect.name) {
                found.append(Finding(level: .waived, check: check, message: "\(aspect.name) waived: \(reason)"))
            } else if let problem = aspect.check(response) {
                fail(problem)
            }
        }
        return found
    }
}
