import Foundation
import Testing

/// The release binary as a user gets it: fully static, runnable in an empty
/// root with only /proc mounted (what a FROM scratch container gives).
@Suite("the static catbench binary", .serialized)
struct StaticBinaryTests {
    @Test("ldd says it is not a dynamic executable")
    func fullyStatic() throws {
        let binary = try BinaryHarness.binary()
        let ldd = try BinaryHarness.run("/usr/bin/ldd", [binary])
        #expect((ldd.stdout + ldd.stderr).contains("not a dynamic executable"), "ldd: \(ldd.stdout)\(ldd.stderr)")
        let version = try BinaryHarness.run(binary, ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("jemalloc 5."), "jemalloc is not the allocator: \(version.stdout)")
        #expect(version.stdout.contains("nghttp2 1."))
        #expect(version.stdout.contains("OpenSSL 3."))
    }

    @Test("it runs a measurement in a root holding only itself and a mounted /proc")
    func runsInEmptyRoot() throws {
        let binary = try BinaryHarness.binary()
        let root = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.copyItem(atPath: binary, toPath: root.appendingPathComponent("catbench").path)
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent("proc"), withIntermediateDirectories: true)
        // A private mount namespace: the /proc mount disappears with the process.
        let script = """
            set -e
            mount -t proc proc '\(root.path)/proc'
            exec chroot '\(root.path)' /catbench run --duration 0.2s --warmup 0.1s --repeat 1 -c 8 --out /result.json
            """
        let outcome = try BinaryHarness.run(
            "/usr/bin/unshare", ["--mount", "--fork", "/bin/sh", "-c", script], timeout: 120)
        #expect(outcome.status == 0, "\(outcome.stderr)")
        #expect(outcome.stdout.contains("ccore"))
        #expect(outcome.stdout.contains("threaded"))
        let contents = try FileManager.default.contentsOfDirectory(atPath: root.path).sorted()
        #expect(contents == ["catbench", "proc", "result.json"])
        let json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("result.json")))
            as! [String: Any]
        let measurements = json["measurements"] as! [[String: Any]]
        #expect(measurements.count == 12)
        // jemalloc's arenas work inside the static binary: allocations were counted.
        let reps = measurements.flatMap { $0["repetitions"] as! [[String: Any]] }
        #expect(reps.allSatisfy { $0["allocations_per_request"] is Double })
    }
}
