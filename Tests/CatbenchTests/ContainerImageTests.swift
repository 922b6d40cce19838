import Foundation
import Testing

/// The image a user runs: the Dockerfile's final stage (`FROM scratch` and the
/// static binary) built with buildah — no registry, no daemon — and run.
/// scripts/test sets CATBENCH_REQUIRE_CONTAINER=1 (and CI installs buildah),
/// so there a missing buildah fails instead of skipping.
@Suite("the container image", .serialized)
struct ContainerImageTests {
    static let buildah = ["/usr/bin/buildah", "/usr/local/bin/buildah"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let required = ProcessInfo.processInfo.environment["CATBENCH_REQUIRE_CONTAINER"] == "1"

    static func buildah(_ arguments: [String], timeout: Double = 300) throws -> BinaryHarness.Outcome {
        try BinaryHarness.run(buildah!, ["--storage-driver", "vfs"] + arguments, timeout: timeout)
    }

    /// The final stage of the Dockerfile, with the binary taken from the build context instead of the build stage.
    static func finalStage() throws -> String {
        let dockerfile = try String(
            contentsOf: BinaryHarness.packageRoot.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let lines = dockerfile.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let start = try #require(
            lines.firstIndex { $0.hasPrefix("FROM scratch") }, "the Dockerfile has no FROM scratch stage")
        let stage = lines[start...].map { $0.hasPrefix("COPY --from=build") ? "COPY catbench /catbench" : $0 }
        #expect(stage.contains("COPY catbench /catbench"), "the final stage copies no binary from the build stage")
        return stage.joined(separator: "\n")
    }

    @Test(
        "the Dockerfile's final stage builds with buildah, and the image runs --version and a short run",
        .enabled(if: buildah != nil || required, "buildah is not installed (apt-get install buildah)"))
    func buildAndRun() throws {
        try #require(Self.buildah != nil, "buildah is needed: apt-get install buildah")
        let binary = try BinaryHarness.binary()
        let context = try BinaryHarness.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: context) }
        try FileManager.default.copyItem(atPath: binary, toPath: context.appendingPathComponent("catbench").path)
        try Self.finalStage().write(
            to: context.appendingPathComponent("Containerfile"), atomically: true, encoding: .utf8)
        let tag = "localhost/catbench-test-\(UUID().uuidString.prefix(8).lowercased())"
        let built = try Self.buildah([
            "bud", "-q", "-t", tag, "-f", context.appendingPathComponent("Containerfile").path, context.path,
        ])
        try #require(built.status == 0, "buildah bud: \(built.stderr)")
        defer { _ = try? Self.buildah(["rmi", "-f", tag]) }
        let from = try Self.buildah(["from", tag])
        try #require(from.status == 0, "buildah from: \(from.stderr)")
        let container = from.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Self.buildah(["rm", container]) }
        // The image holds one file, the binary, at the entry point's path.
        let mounted = try Self.buildah(["inspect", "--format", "{{.OCIv1.Config.Entrypoint}}", container])
        #expect(mounted.stdout.contains("/catbench"), "\(mounted.stdout)")
        let version = try Self.buildah(["run", "--isolation", "chroot", container, "--", "/catbench", "--version"])
        #expect(version.status == 0 && version.stdout.contains("jemalloc 5."), "\(version.stdout) \(version.stderr)")
        let run = try Self.buildah(
            [
                "run", "--isolation", "chroot", container, "--", "/catbench", "run", "--duration", "0.2s",
                "--warmup", "0.1s", "--repeat", "1", "-c", "8", "--quiet", "--out", "/results/r.json",
            ],
            timeout: 120)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
        for stack in ["ccore", "async", "threaded"] { #expect(run.stdout.contains(stack), "\(run.stdout)") }
        #expect(run.stderr.contains("result written to /results/r.json"), "\(run.stderr)")
    }
}
