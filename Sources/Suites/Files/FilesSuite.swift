import Posix
import SuiteKit

/// The files suite: static files by the HTTP rules (RFC 9110 — validators,
/// conditional requests, byte ranges), served from a folder catbench makes
/// (`StaticFolder`). Every answer's bytes are compared with the file's; a
/// file changed on disk must be served at once, with a new validator; no
/// way out of the folder may read anything outside it.
public enum FilesSuite: SuiteDefinition {
    public static var services: [any SuiteService.Type] { [StaticFolderService.self] }

    static func target(_ file: StaticFolder.File) -> String { "/static/" + file.name }

    /// The body must be exactly `bytes` (a slice of a file, or the whole).
    static func exactly(_ bytes: [UInt8], _ what: String) -> Expectation.Body {
        .bytes("the bytes of \(what)") { body in
            guard body.count == bytes.count else {
                return "\(body.count) bytes, expected the \(bytes.count) of \(what)"
            }
            guard body != bytes else { return nil }
            let at = zip(body, bytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? 0
            return "the body differs from \(what) at byte \(at)"
        }
    }

    /// A plain GET of `file`: 200, its media type and every byte.
    static func whole(_ file: StaticFolder.File) -> RequestSpec {
        RequestSpec(
            target: target(file),
            expectation: Expectation(
                status: 200, mediaType: file.mediaType, body: exactly(StaticFolder.content(file), file.name)))
    }

    /// `Range: bytes=<spec>` on `file`: 206 with exactly [first, last] and its Content-Range.
    static func range(_ file: StaticFolder.File, _ spec: String, first: Int, last: Int) -> RequestSpec {
        let bytes = Array(StaticFolder.content(file)[first...last])
        var expectation = Expectation(
            status: 206, body: exactly(bytes, "\(file.name)[\(first)…\(last)]"), recommendedHeaders: ["Date"])
        expectation.requiredHeaders = [("Content-Range", "bytes \(first)-\(last)/\(file.size)")]
        return RequestSpec(target: target(file), headers: [("Range", "bytes=" + spec)], expectation: expectation)
    }

    /// The waivable part of HEAD, 304 and refusal checks: nothing follows
    /// the answer on the connection (no body after a bodiless answer, no second answer).
    static let framing = "framing"

    static let noStrayBody = ExpectationAspect(framing) { response in
        response.strayBytes == 0
            ? nil
            : "\(response.strayBytes) bytes followed a \(response.status) answer unasked (a body after HEAD or 304, "
                + "RFC 9110 §9.3.2 and §15.4.5, or a second answer): the connection's framing is lost"
    }

    /// A conditional GET the file has not changed since: 304, no body.
    static func notModified(_ file: StaticFolder.File, _ header: (name: String, value: String)) -> RequestSpec {
        var expectation = Expectation(status: 304, body: .text(""), recommendedHeaders: ["Date"])
        expectation.aspects = [noStrayBody]
        expectation.watchForStrayBytes = true
        return RequestSpec(target: target(file), headers: [header], expectation: expectation)
    }

    /// A way out of the folder: refused (400, 403 or 404 — or a redirect to a
    /// path under /static/, as a server that merges "//" does), and nothing
    /// of the secret beside the folder in the answer.
    static func refused(_ target: String) -> RequestSpec {
        var expectation = Expectation(
            statuses: [301, 302, 307, 308, 400, 403, 404],
            body: .bytes("nothing from outside the folder") { body in
                body.count >= StaticFolder.secretText.utf8.count
                    && String(decoding: body, as: UTF8.self).contains(StaticFolder.secretText)
                    ? "the answer holds the file outside the served folder" : nil
            }, recommendedHeaders: [])
        expectation.watchForStrayBytes = true
        expectation.aspects = [
            noStrayBody,
            ExpectationAspect("redirect-inside") { response in
                guard (300..<400).contains(response.status) else { return nil }
                let location = response.header("Location") ?? ""
                // An absolute URL's path: what follows its authority.
                var path = Substring(location)
                if let scheme = location.range(of: "://") {
                    let rest = location[scheme.upperBound...]
                    path = rest.firstIndex(of: "/").map { rest[$0...] } ?? ""
                }
                return path.hasPrefix("/static/") && !path.contains("..")
                    ? nil : "redirected to \(location), out of /static/"
            },
        ]
        return RequestSpec(target: target, expectation: expectation)
    }

    /// The waivable part of the files checks: a symbolic link inside the
    /// folder that points out of it is not followed.
    static let symlinks = "symlinks"

    /// A GET of the link out of the folder: the answer must not be a 5xx,
    /// and (the waivable part) must be 400 or 404 without the secret.
    static func symlinkOut() -> RequestSpec {
        let strict = refused("/static/" + StaticFolder.outsideLink).expectation
        var expectation = Expectation(statuses: [200, 400, 403, 404], recommendedHeaders: [])
        expectation.aspects = [
            ExpectationAspect(symlinks) { response in
                strict.findings(for: response, check: symlinks).first { $0.level == .failure }.map {
                    "a symbolic link out of the folder was followed: \($0.message)"
                }
            }
        ]
        return RequestSpec(target: "/static/" + StaticFolder.outsideLink, expectation: expectation)
    }

    static let small = [StaticFolder.tiny, StaticFolder.page, StaticFolder.style]

    /// A 16 KiB range at a random offset of the 1 MiB file.
    static func randomRange(_ random: inout SeededRandom) -> RequestSpec {
        let first = Int.random(in: 0..<(StaticFolder.mega.size - 16384), using: &random)
        return range(StaticFolder.mega, "\(first)-\(first + 16383)", first: first, last: first + 16383)
    }

    /// The load's conditional GET: If-Modified-Since the files' fixed time,
    /// which every server can answer without knowing its own ETag ahead
    /// (If-None-Match is checked with each server's own ETag instead).
    static func conditional(_ random: inout SeededRandom) -> RequestSpec {
        let file = [StaticFolder.tiny, StaticFolder.medium][Int.random(in: 0..<2, using: &random)]
        return notModified(file, ("If-Modified-Since", StaticFolder.modifiedDate))
    }

    /// The waivable parts: If-None-Match honoured (`*` and the server's own
    /// ETag), and If-Range with an entity-tag.
    static let entityTags = "entity-tags"
    static let ifRangeTags = "if-range-entity-tags"

    /// `If-None-Match: *` on an existing file: 304; a server without entity-tags may send the file (waivable).
    static func ifNoneMatchStar() -> RequestSpec {
        let file = StaticFolder.medium
        var expectation = Expectation(statuses: [200, 304], recommendedHeaders: ["Date"])
        expectation.aspects = [
            ExpectationAspect(entityTags) { response in
                response.status == 304 && response.body.isEmpty
                    ? nil : "If-None-Match: * on an existing file answered \(response.status), expected 304"
            }
        ]
        return RequestSpec(target: target(file), headers: [("If-None-Match", "*")], expectation: expectation)
    }

    /// A range under If-Range with a stale entity-tag: the whole file, 200 (waivable: a server that reads If-Range as a date only).
    static func staleIfRange() -> RequestSpec {
        let file = StaticFolder.medium
        let whole = StaticFolder.content(file)
        var expectation = Expectation(statuses: [200, 206], recommendedHeaders: ["Date"])
        expectation.aspects = [
            ExpectationAspect(ifRangeTags) { response in
                response.status == 200 && response.body == whole
                    ? nil
                    : "Range under a stale If-Range answered \(response.status) with \(response.body.count) bytes, "
                        + "expected 200 with the whole file (RFC 9110 §13.1.5)"
            }
        ]
        return RequestSpec(
            target: target(file), headers: [("Range", "bytes=0-9"), ("If-Range", "\"catbench-stale\"")],
            expectation: expectation)
    }

    static let loadWorkloads = [
        "static-small", "static-256k", "static-10m", "static-304", "static-range", "static-mix",
    ]
    static let rangeWorkloads = ["static-range", "static-mix"]
    static let conditionalWorkloads = ["static-304", "static-mix"]

    public static let traversals = [
        "/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/%2E%2E/secret.txt", "/static/..%2fsecret.txt",
        "/static/..%2Fsecret.txt", "/static/css/..%2f..%2fsecret.txt", "/static/%2e%2e%2fsecret.txt",
        "/static/..%5csecret.txt", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
    ]

    public static let contract = SuiteContract(
        name: "files",
        summary: "static files by the HTTP rules: whole files of 1 KiB to 10 MiB, ranges, conditional GETs",
        routes: [
            RouteDescription(
                method: "GET", path: "/static/{path}",
                answer:
                    "the file beneath CATBENCH_STATIC_DIR: 200 with its bytes, media type by extension, a validator "
                    + "(ETag or Last-Modified); Range bytes=a-b / a- / -n → 206 with Content-Range, past the end 416 "
                    + "with Content-Range: bytes */N; If-None-Match / If-Modified-Since → 304; If-Range; HEAD; a path "
                    + "out of the folder (.., encoded separators, absolute, a symbolic link out) → 400 or 404")
        ],
        cases: [
            LoadCase(name: "static-small", summary: "GET a small file (1 KiB text, 4 KiB HTML, 2 KiB CSS)") {
                random in whole(small[Int.random(in: 0..<small.count, using: &random)])
            },
            LoadCase(name: "static-256k", summary: "GET a 256 KiB file") { _ in whole(StaticFolder.large) },
            LoadCase(name: "static-10m", summary: "GET a 10 MiB file", connectionLevels: [1, 16]) { _ in
                whole(StaticFolder.huge)
            },
            LoadCase(
                name: "static-304",
                summary: "conditional GET of an unchanged 1 KiB or 16 KiB file (If-Modified-Since): 304"
            ) { random in conditional(&random) },
            LoadCase(name: "static-range", summary: "Range: a 16 KiB slice at a random offset of a 1 MiB file: 206") {
                random in randomRange(&random)
            },
            LoadCase(
                name: "static-mix",
                summary: "60% small files, 20% 256 KiB, 10% conditional (304), 10% ranges (206)"
            ) { random in
                switch Int.random(in: 0..<10, using: &random) {
                case 0..<6: return whole(small[Int.random(in: 0..<small.count, using: &random)])
                case 6..<8: return whole(StaticFolder.large)
                case 8: return conditional(&random)
                default: return randomRange(&random)
                }
            },
        ],
        checks: {
            var checks = (StaticFolder.files).map { file in
                NamedRequest(
                    "GET \(file.name): every byte, \(file.mediaType)", whole(file),
                    workloads: file.name == StaticFolder.huge.name
                        ? ["static-10m"] : file.name == StaticFolder.large.name ? ["static-256k", "static-mix"] : [])
            }
            var head = RequestSpec(
                method: "HEAD", target: target(StaticFolder.mega),
                expectation: Expectation(status: 200, recommendedHeaders: ["Date"]))
            head.expectation.requiredHeaders = [("Content-Length", "\(StaticFolder.mega.size)")]
            head.expectation.aspects = [noStrayBody]
            head.expectation.watchForStrayBytes = true
            checks.append(NamedRequest("HEAD: the length, no body", head))
            let m = StaticFolder.medium
            checks += [
                NamedRequest("Range bytes=0-99 → 206", range(m, "0-99", first: 0, last: 99), workloads: rangeWorkloads),
                NamedRequest(
                    "Range bytes=-500 (the last 500) → 206", range(m, "-500", first: m.size - 500, last: m.size - 1),
                    workloads: rangeWorkloads),
                NamedRequest(
                    "Range bytes=1000- (to the end) → 206", range(m, "1000-", first: 1000, last: m.size - 1),
                    workloads: rangeWorkloads),
                NamedRequest(
                    "Range past the end → 416 bytes */N",
                    {
                        var spec = RequestSpec(
                            target: target(m), headers: [("Range", "bytes=\(m.size)-")],
                            expectation: Expectation(status: 416, recommendedHeaders: []))
                        spec.expectation.requiredHeaders = [("Content-Range", "bytes */\(m.size)")]
                        return spec
                    }(), workloads: rangeWorkloads),
                NamedRequest("If-None-Match: * → 304", ifNoneMatchStar(), workloads: conditionalWorkloads),
                NamedRequest(
                    "Range with If-Range: the file's date → 206",
                    {
                        var spec = range(m, "0-9", first: 0, last: 9)
                        spec.headers.append(("If-Range", StaticFolder.modifiedDate))
                        return spec
                    }(), workloads: rangeWorkloads),
                NamedRequest(
                    "Range with a stale If-Range entity-tag → 200, the whole file", staleIfRange(),
                    workloads: rangeWorkloads),
                NamedRequest(
                    "If-Modified-Since the file's time → 304",
                    notModified(m, ("If-Modified-Since", StaticFolder.modifiedDate)), workloads: conditionalWorkloads),
                NamedRequest(
                    "If-Modified-Since 1994 → 200, every byte",
                    {
                        var spec = whole(m)
                        spec.headers = [("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]
                        return spec
                    }(), workloads: conditionalWorkloads),
            ]
            checks += traversals.map { NamedRequest("refused: \($0)", refused($0)) }
            checks.append(
                NamedRequest(
                    "refused: a symbolic link out of the folder (/static/\(StaticFolder.outsideLink))",
                    symlinkOut()))
            checks.append(NamedRequest("a missing file → 404", refused("/static/missing.bin")))
            return checks
        }(),
        scenarios: [
            Scenario("revalidation with the server's own validator: 304") { context in
                try revalidation(context.client)
            },
            Scenario("a file changed on disk is served at once, with a new validator") { context in
                guard let folder = context.services?.service(StaticFolderService.self) else {
                    return ["needs the run's static folder to change a file (run through catbench run or verify)"]
                }
                return try changedOnDisk(context.client, folder)
            },
        ],
        connectionLevels: [16, 64],
        aspects: [
            framing: "nothing follows an answer unasked: no body after HEAD or 304, no second answer to a refused "
                + "path (status, headers and body are checked whatever is waived; the connection is dropped after "
                + "such bytes)",
            entityTags: "If-None-Match is honoured: `*` on an existing file answers 304 (the server's own ETag is "
                + "checked whatever is waived, when it sends one)",
            ifRangeTags: "a Range under If-Range with an entity-tag that does not match gets the whole file (200)",
            "redirect-inside": "a redirect answering a way out of the folder stays under /static/",
            symlinks: "a symbolic link inside the served folder that points out of it is not followed (400 or 404); "
                + "the other ways out of the folder are refused whatever is waived",
        ],
        notes: [
            "Files are served from the page cache (read once before the load); the 10 MiB file is measured at 1 and 16 "
                + "connections."
        ]
    )

    /// The validator a server gave: its ETag, else its Last-Modified, as the headers that test it.
    static func validator(_ response: HTTPResponse) -> (match: (String, String), ifRange: String)? {
        if let etag = response.header("ETag") { return (("If-None-Match", etag), etag) }
        if let date = response.header("Last-Modified") { return (("If-Modified-Since", date), date) }
        return nil
    }

    static func revalidation(_ client: ProbeClient) throws -> [String] {
        let file = StaticFolder.medium
        let first = try client.send(whole(file))
        guard first.status == 200 else { return ["GET \(file.name): status \(first.status)"] }
        guard let (match, _) = validator(first) else {
            return ["GET \(file.name) has neither an ETag nor a Last-Modified: nothing to revalidate with"]
        }
        var problems: [String] = []
        let again = try client.send(
            RequestSpec(target: target(file), headers: [match], expectation: Expectation(status: 304)))
        if again.status != 304 { problems.append("\(match.0): \(match.1) answered \(again.status), expected 304") }
        if !again.body.isEmpty { problems.append("the 304 had a body of \(again.body.count) bytes") }
        return problems
    }

    static func changedOnDisk(_ client: ProbeClient, _ folder: StaticFolderService) throws -> [String] {
        let file = StaticFolder.mutable
        let spec = RequestSpec(target: target(file), expectation: Expectation(status: 200))
        let before = try client.send(spec)
        guard before.status == 200 else { return ["GET \(file.name): status \(before.status)"] }
        guard let (match, _) = validator(before) else {
            return ["GET \(file.name) has neither an ETag nor a Last-Modified"]
        }
        let now = try folder.changeMutable()
        var problems: [String] = []
        let after = try client.send(spec)
        if after.body != now {
            problems.append(
                "after the file changed on disk, GET \(file.name) still answered the old bytes (a cache that never "
                    + "looks at the file?)")
        }
        if let (changed, _) = validator(after), changed.1 == match.1 {
            problems.append("the validator did not change with the file: \(match.0) \(match.1)")
        }
        let conditional = try client.send(
            RequestSpec(target: target(file), headers: [match], expectation: Expectation(status: 200)))
        if conditional.status != 200 || conditional.body != now {
            problems.append(
                "\(match.0) with the old validator answered \(conditional.status), expected 200 with the new bytes")
        }
        return problems
    }
}
