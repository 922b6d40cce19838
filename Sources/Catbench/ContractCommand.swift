import ArgumentParser
import SuiteKit
import FoundationEssentials
import Posix
import Suites

/// The contract as a document, for a framework author implementing it: each
/// suite's routes, the requests the load sends, the checks the verifier makes,
/// with an answer that passes them (made now by the ccore stack, and checked).
struct ContractCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contract",
        abstract: "Print the contract every server meets (routes, requests, expected answers) as Markdown or JSON.",
        discussion:
            "Then check your own server with `catbench verify http://127.0.0.1:PORT --suite S`, and measure it with `catbench run --peer NAME=http://127.0.0.1:PORT`."
    )

    @Option(
        name: .customLong("suite"),
        help: "Suite (repeatable). Known: \(Catalog.names.joined(separator: ", ")) (async is async-ops). Default: all.")
    var suites: [String] = []

    @Option(help: "md or json.")
    var format = "md"

    @Flag(help: "Leave out the example answers (which need a reference server started in-process).")
    var noExamples = false

    struct Document: Codable {
        var schema = "catbench-contract"
        var schemaVersion = 1
        var suites: [SuiteDoc]
    }

    struct SuiteDoc: Codable {
        var name: String
        var aliases: [String]
        var summary: String
        var connectionLevels: [Int]?
        var routes: [RouteDescription]
        var workloads: [Workload]
        var checks: [Check]
        var scenarios: [Scenario]
        /// Parts of checks a framework may declare it cannot express (a waiver), with what they check.
        var aspects: [String: String]
    }

    struct Scenario: Codable {
        var name: String
        var workloads: [String]
    }

    struct Workload: Codable {
        var name: String
        var summary: String
        var examples: [Request]
    }

    struct Request: Codable {
        var method: String
        var target: String
        var headers: [[String]]
        var body: String?
    }

    struct Check: Codable {
        var name: String
        var request: Request
        var status: [Int]
        var mediaType: String?
        var body: String?
        var requiredHeaders: [[String]]
        var forbiddenHeaders: [String]
        /// The workloads this check qualifies (empty: all); a failure keeps them from being measured.
        var workloads: [String]
        /// Waivable parts of this check (see the suite's aspects).
        var aspects: [String]
        var exampleAnswer: Answer?
    }

    struct Answer: Codable {
        var status: Int
        var headers: [[String]]
        var body: String
    }

    func run() throws {
        guard ["md", "json"].contains(format) else { throw ValidationError("--format is md or json") }
        let chosen: [any CatalogSuite.Type]
        do {
            chosen = suites.isEmpty ? Catalog.suites : try Catalog.resolve(suites)
        } catch {
            throw ValidationError("\(error)")
        }
        var reference: EmbeddedServer?
        if !noExamples {
            reference = try startServer(.ccore, suites: chosen, settings: ServerSettings(port: 0, h2c: false))
        }
        defer { reference?.stop() }
        let probe = try reference.map { ProbeClient(address: try SocketAddress(host: "127.0.0.1", port: $0.port)) }
        let document = Document(suites: chosen.map { describe($0.contract, probe: probe) })
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            OutputFile.standardOutput(String(decoding: try encoder.encode(document), as: UTF8.self) + "\n")
        } else {
            OutputFile.standardOutput(markdown(document))
        }
    }

    func describe(_ suite: SuiteContract, probe: ProbeClient?) -> SuiteDoc {
        let workloads = suite.cases.map { c in
            Workload(
                name: c.name, summary: c.summary,
                examples: c.requests(seed: 1, count: 2).map(request).reduce(into: [Request]()) { list, r in
                    if !list.contains(where: { $0.target == r.target && $0.body == r.body }) { list.append(r) }
                })
        }
        let checks = suite.checks.map { check -> Check in
            let e = check.request.expectation
            var body: String?
            switch e.body {
            case .any: body = nil
            case .text(let text): body = "exactly: \(text)"
            case .json: body = "JSON, checked as the route's description says"
            case .bytes(let what, _): body = what
            }
            var answer: Answer?
            if let probe, let response = try? probe.send(check.request),
                !e.findings(for: response, check: check.name).contains(where: { $0.level == .failure })
            {
                let text = response.bodyText
                answer = Answer(
                    status: response.status, headers: response.headers.map { [$0.name, $0.value] },
                    body: text.count > 600 ? String(text.prefix(600)) + "…" : text)
            }
            return Check(
                name: check.name, request: request(check.request), status: e.statuses.sorted(), mediaType: e.mediaType,
                body: body, requiredHeaders: e.requiredHeaders.map { [$0.name, $0.value ?? "(any value)"] },
                forbiddenHeaders: e.forbiddenHeaders, workloads: check.workloads, aspects: e.aspects.map(\.name),
                exampleAnswer: answer)
        }
        return SuiteDoc(
            name: suite.name, aliases: suite.aliases, summary: suite.summary, connectionLevels: suite.connectionLevels,
            routes: suite.routes, workloads: workloads, checks: checks,
            scenarios: suite.scenarios.map { Scenario(name: $0.name, workloads: $0.workloads) }, aspects: suite.aspects)
    }

    func request(_ spec: RequestSpec) -> Request {
        let body = spec.body.isEmpty ? nil : String(decoding: spec.body, as: UTF8.self)
        return Request(
            method: spec.method, target: spec.target, headers: spec.headers.map { [$0.name, $0.value] },
            body: body.map { $0.count > 600 ? String($0.prefix(600)) + "… (\(spec.body.count) bytes)" : $0 })
    }

    func markdown(_ document: Document) -> String {
        var out = "# The catbench contract\n\n"
        out +=
            "Every server — embedded stack or external framework — answers these routes. Answers should carry `Date`, `Server`, `Content-Type` and `Content-Length` (a missing one is a warning); a wrong status, body or required header is a failure, and a server that fails is not measured. Check yours with `catbench verify http://127.0.0.1:PORT --suite S`.\n"
        for suite in document.suites {
            out += "\n## \(suite.name)\n\n\(suite.summary).\n"
            if !suite.aliases.isEmpty { out += "\nAlso called: \(suite.aliases.joined(separator: ", ")).\n" }
            if let levels = suite.connectionLevels {
                out += "\nMeasured at \(levels.map(String.init).joined(separator: ", ")) connections.\n"
            }
            out += "\n| method | path | answer |\n| --- | --- | --- |\n"
            for r in suite.routes { out += "| \(r.method) | `\(cell(r.path))` | \(cell(r.answer)) |\n" }
            out += "\n### Load\n\n"
            for w in suite.workloads {
                out +=
                    "- **\(w.name)**: \(cell(w.summary)); e.g. "
                    + w.examples.map { "`\($0.method) \($0.target)`" }.joined(separator: ", ") + "\n"
            }
            out += "\n### Checks\n"
            for c in suite.checks {
                out += "\n**\(c.name)** — `\(c.request.method) \(c.request.target)`"
                if !c.request.headers.isEmpty {
                    out +=
                        " with " + c.request.headers.map { "`\($0[0]): \(abbreviate($0[1]))`" }.joined(separator: ", ")
                }
                out +=
                    "\n\n- qualifies: " + (c.workloads.isEmpty ? "every workload" : c.workloads.joined(separator: ", "))
                out += "\n- status " + c.status.map(String.init).joined(separator: " or ")
                if let m = c.mediaType { out += ", `\(m)`" }
                if let b = c.body { out += "; body: \(cell(b))" }
                out += "\n"
                if !c.requiredHeaders.isEmpty {
                    out +=
                        "- must carry: " + c.requiredHeaders.map { "`\($0[0]): \($0[1])`" }.joined(separator: ", ")
                        + "\n"
                }
                if !c.forbiddenHeaders.isEmpty {
                    out += "- must not carry: " + c.forbiddenHeaders.map { "`\($0)`" }.joined(separator: ", ") + "\n"
                }
                if let body = c.request.body { out += "- request body: `\(cell(abbreviate(body, 200)))`\n" }
                for aspect in c.aspects { out += "- waivable part `\(aspect)`: \(cell(suite.aspects[aspect] ?? ""))\n" }
                if let a = c.exampleAnswer {
                    out += "- an answer that passes: \(a.status), `\(cell(abbreviate(a.body, 200)))`\n"
                }
            }
            if !suite.scenarios.isEmpty {
                out +=
                    "\n### Scenarios (several requests on one connection)\n\n"
                    + suite.scenarios.map {
                        "- \($0.name)"
                            + ($0.workloads.isEmpty ? "" : " (qualifies \($0.workloads.joined(separator: ", ")))")
                            + "\n"
                    }.joined()
            }
        }
        return out
    }

    func cell(_ text: String) -> String { text.replacing("|", with: "\\|").replacing("\n", with: " ") }

    func abbreviate(_ text: String, _ limit: Int = 60) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
