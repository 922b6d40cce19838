import SharedLogic

/// The async-operations suite: handlers that wait for one simulated I/O call,
/// fan out to ten concurrent ones, call an upstream HTTP service (answering
/// after 2 ms), read a file, hand CPU work to a pool — and a plain sync handler
/// in the same app. Measured at 1, 64 and 256 connections, it shows how each
/// design spends its threads while waiting.
public enum AsyncOpsSuite {
    static func get(_ target: String, _ check: @escaping @Sendable (JSONValue) -> String?) -> RequestSpec {
        RequestSpec(target: target, expectation: Expectation(status: 200, mediaType: "application/json", body: .json(check)))
    }

    static func io() -> RequestSpec {
        get("/async/io") { doc in
            guard doc["io"]?.stringValue == "done" else { return "expected {\"io\":\"done\"}, got \(doc)" }
            guard let waited = doc["waited_us"]?.intValue, waited >= 900 else {
                return "the handler should have waited about 1 ms, it reports \(doc["waited_us"]?.description ?? "nothing")"
            }
            return nil
        }
    }

    /// `concurrently`: also check that the ten waits overlapped (under 9 ms in
    /// all) — a check for one request on an idle server, not under load.
    static func fanout(concurrently: Bool = false) -> RequestSpec {
        get("/async/fanout") { doc in
            guard doc["calls"]?.intValue == Int64(AsyncWork.fanout),
                  doc["results"]?.arrayValue?.compactMap(\.intValue) == (0..<Int64(AsyncWork.fanout)).map({ $0 }) else {
                return "expected calls 10 and results [0…9] in order, got \(doc)"
            }
            guard let waited = doc["waited_us"]?.intValue, waited >= 900 else {
                return "ten 1 ms calls take at least 1 ms; the handler reports \(doc["waited_us"]?.description ?? "nothing") µs"
            }
            if concurrently && waited >= 9_000 {
                return "ten 1 ms calls made concurrently take under 9 ms on an idle server; the handler reports \(waited) µs"
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

    public static let suite = Suite(
        name: "async",
        summary: "awaited I/O, a fan-out of 10, an upstream HTTP call, a file read, CPU work on a pool, and a sync handler",
        routes: [
            RouteDescription(method: "GET", path: "/async/io", answer: "waits 1 ms (simulated I/O), then {\"io\":\"done\",\"waited_us\":<µs>}"),
            RouteDescription(method: "GET", path: "/async/fanout", answer: "ten concurrent 1 ms waits, joined: {\"calls\":10,\"results\":[0,…,9],\"waited_us\":<µs>}"),
            RouteDescription(method: "GET", path: "/async/upstream?n=K", answer: "GET the upstream's /delay?n=K (2 ms): {\"upstream\":{\"n\":K}}"),
            RouteDescription(method: "GET", path: "/async/file", answer: "reads the 64 KiB fixture (xorshift32 bytes, see SharedLogic/AsyncWork.swift): {\"bytes\":65536,\"sha256\":<hex>}"),
            RouteDescription(method: "GET", path: "/async/cpu?seed=S", answer: "CPU work on a pool: {\"seed\":S,\"result\":<hex>}"),
            RouteDescription(method: "GET", path: "/async/sync", answer: "a sync handler: {\"sync\":true}"),
        ],
        cases: [
            LoadCase(name: "io", summary: "GET /async/io: one awaited 1 ms call") { _ in io() },
            LoadCase(name: "fanout", summary: "GET /async/fanout: ten concurrent 1 ms calls") { _ in fanout() },
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
            NamedRequest("awaited I/O", io()),
            NamedRequest("fan-out of 10, concurrently", fanout(concurrently: true)),
            NamedRequest("upstream call", upstream(42)),
            NamedRequest("file read", file()),
            NamedRequest("CPU work", cpu(7)),
            NamedRequest("sync handler", sync()),
        ],
        connectionLevels: [1, 64, 256]
    )
}
