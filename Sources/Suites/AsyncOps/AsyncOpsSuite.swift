import Posix
import SuiteKit

/// The async-operations suite: handlers that wait for one simulated I/O call,
/// fan out to ten concurrent upstream calls, call an upstream HTTP service
/// (answering after 2 ms), read a file, hand CPU work to a pool — and a plain
/// sync handler in the same app. Measured at 1, 64 and 256 connections, it
/// shows how each design spends its threads while waiting. Concurrency and
/// waits are checked from outside the server: by the client's clock and by
/// the upstream's own records, never by what a handler says of itself.
public enum AsyncOpsSuite: SuiteDefinition {
    public static var services: [any SuiteService.Type] { [UpstreamService.self] }

    static func get(_ target: String, _ check: @escaping @Sendable (JSONValue) -> String?) -> RequestSpec {
        RequestSpec(
            target: target, expectation: Expectation(status: 200, mediaType: "application/json", body: .json(check)))
    }

    static func io() -> RequestSpec {
        get("/async/io") { doc in doc["io"]?.stringValue == "done" ? nil : "expected {\"io\":\"done\"}, got \(doc)" }
    }

    static func fanout(group: String) -> RequestSpec {
        get("/async/fanout?group=\(QueryString.encode(group))") { doc in
            guard doc["calls"]?.intValue == Int64(AsyncWork.fanout),
                doc["results"]?.arrayValue?.compactMap(\.intValue) == (0..<Int64(AsyncWork.fanout)).map({ $0 })
            else {
                return "expected calls 10 and results [0…9] (the upstream's answers, in order), got \(doc)"
            }
            return nil
        }
    }

    static func upstream(_ n: Int) -> RequestSpec {
        get("/async/upstream?n=\(n)") { doc in
            doc["upstream"]?["n"]?.intValue == Int64(n) ? nil : "expected {\"upstream\":{\"n\":\(n)}}, got \(doc)"
        }
    }

    static func file() -> RequestSpec {
        let checksum = AsyncWork.sha256(AsyncWork.fileContent())
        return get("/async/file") { doc in
            guard doc["bytes"]?.intValue == Int64(AsyncWork.fileBytes), doc["sha256"]?.stringValue == checksum else {
                return "expected {\"bytes\":\(AsyncWork.fileBytes),\"sha256\":\"\(checksum)\"}, got \(doc)"
            }
            return nil
        }
    }

    static func cpu(_ seed: UInt64) -> RequestSpec {
        let expected = AsyncWork.cpu(seed: seed)
        return get("/async/cpu?seed=\(seed)") { doc in
            doc["result"]?.stringValue == expected ? nil : "expected result \(expected) for seed \(seed), got \(doc)"
        }
    }

    static func sync() -> RequestSpec {
        get("/async/sync") { doc in doc["sync"]?.boolValue == true ? nil : "expected {\"sync\":true}, got \(doc)" }
    }

    public static let contract = SuiteContract(
        name: "async-ops",
        aliases: ["async"],
        summary: "awaited I/O, a fan-out of 10 upstream calls, an upstream HTTP call, a file read, CPU work on a pool, "
            + "and a sync handler",
        routes: [
            RouteDescription(
                method: "GET", path: "/async/io", answer: "waits 1 ms (simulated I/O), then {\"io\":\"done\"}"),
            RouteDescription(
                method: "GET", path: "/async/fanout?group=G",
                answer: "ten concurrent calls GET <upstream>/delay?n=<i>&ms=1&group=G (i = 0…9), joined: "
                    + "{\"calls\":10,\"results\":[0,…,9]} (the upstream's answers in order)"),
            RouteDescription(
                method: "GET", path: "/async/upstream?n=K",
                answer: "GET <upstream>/delay?n=K (2 ms): {\"upstream\":{\"n\":K}}"),
            RouteDescription(
                method: "GET", path: "/async/file",
                answer: "reads the 64 KiB fixture (xorshift32 bytes, see Suites/AsyncOps/AsyncWork.swift): "
                    + "{\"bytes\":65536,\"sha256\":<hex>}"),
            RouteDescription(
                method: "GET", path: "/async/cpu?seed=S", answer: "CPU work on a pool: {\"seed\":S,\"result\":<hex>}"),
            RouteDescription(method: "GET", path: "/async/sync", answer: "a sync handler: {\"sync\":true}"),
        ],
        cases: [
            LoadCase(name: "io", summary: "GET /async/io: one awaited 1 ms call") { _ in io() },
            LoadCase(name: "fanout", summary: "GET /async/fanout: ten concurrent 1 ms upstream calls") { _ in
                fanout(group: "load")
            },
            LoadCase(name: "upstream", summary: "GET /async/upstream: an HTTP call answered after 2 ms") { random in
                upstream(Int.random(in: 1...1_000_000, using: &random))
            },
            LoadCase(name: "file", summary: "GET /async/file: read 64 KiB and hash it (SHA-256)") { _ in file() },
            LoadCase(name: "cpu", summary: "GET /async/cpu: about 100 µs of CPU work on a pool") { random in
                cpu(UInt64.random(in: 1...UInt64(Int64.max), using: &random))
            },
            LoadCase(name: "sync", summary: "GET /async/sync: a sync handler in the same app") { _ in sync() },
        ],
        checks: [
            NamedRequest("awaited I/O", io(), case: "io"),
            NamedRequest("fan-out of 10", fanout(group: "verify"), case: "fanout"),
            NamedRequest("upstream call", upstream(42), case: "upstream"),
            NamedRequest("file read", file(), case: "file"),
            NamedRequest("CPU work", cpu(7), case: "cpu"),
            NamedRequest("sync handler", sync(), case: "sync"),
        ],
        scenarios: [
            Scenario("the wait is real: every answer takes at least 1 ms by the client's clock", workloads: ["io"]) {
                context in
                var problems: [String] = []
                for attempt in 1...3 {
                    let start = Clock.monotonicNanos()
                    let response = try context.client.send(io())
                    let took = Clock.monotonicNanos() - start
                    if response.status != 200 { problems.append("request \(attempt) got \(response.status)") }
                    if took < AsyncWork.ioNanos {
                        problems.append(
                            "request \(attempt) was answered after \(took / 1000) µs; a 1 ms wait takes at least 1000 µs"
                        )
                    }
                }
                return problems
            },
            Scenario(
                "the fan-out's ten upstream calls are in flight at once, by the upstream's own count",
                workloads: ["fanout"]
            ) { context in
                guard let upstream = context.services?.service(UpstreamService.self) else {
                    return [
                        "needs the run's upstream service to count the calls (catbench verify: --upstream HOST:PORT)"
                    ]
                }
                let group = UpstreamService.checkGroupPrefix + String(UInt64.random(in: 1...UInt64.max), radix: 36)
                let response = try context.client.send(fanout(group: group))
                var problems = fanout(group: group).expectation.findings(for: response, check: "fan-out")
                    .filter { $0.level == .failure }.map(\.message)
                let record = try UpstreamService.groupRecord(group, at: upstream.address)
                if record.calls != AsyncWork.fanout {
                    problems.append(
                        "the upstream saw \(record.calls) calls of the fan-out, expected \(AsyncWork.fanout)")
                } else if record.maxInFlight != AsyncWork.fanout {
                    problems.append(
                        "at most \(record.maxInFlight) of the fan-out's \(AsyncWork.fanout) upstream calls were in "
                            + "flight at once; made concurrently, all \(AsyncWork.fanout) are")
                }
                return problems
            },
            Scenario("the upstream call reaches the upstream, once", workloads: ["upstream"]) { context in
                guard let service = context.services?.service(UpstreamService.self) else {
                    return [
                        "needs the run's upstream service to count the calls (catbench verify: --upstream HOST:PORT)"
                    ]
                }
                let before = try UpstreamService.totalCalls(at: service.address)
                _ = try context.client.send(upstream(7))
                let after = try UpstreamService.totalCalls(at: service.address)
                return after - before == 1
                    ? [] : ["one /async/upstream request made \(after - before) upstream calls, expected 1"]
            },
        ],
        connectionLevels: [1, 64, 256]
    )

    public static var figures: [FigureRule] {
        [
            FigureRule(
                name: "fan-out latency (1 connection)", unit: "ms",
                description:
                    "median latency of ten concurrent 1 ms upstream calls; about 1 ms is full overlap, 10 ms none"
            ) { m in
                m["fanout", connections: 1].map { $0.p50Us / 1000 }
            },
            FigureRule(
                name: "fan-out / single call", unit: "×",
                description: "fan-out median latency over one 1 ms wait's: about 1× is full overlap"
            ) { m in
                guard let io = m["io", connections: 1], let fanout = m["fanout", connections: 1], io.p50Us > 0 else {
                    return nil
                }
                return fanout.p50Us / io.p50Us
            },
        ]
    }
}
