import Posix
import SuiteKit
import Synchronization
import Suites
import Testing
import ThreadedStack
import WireFormat

#if canImport(Glibc)
    import Glibc
#endif

/// The files suite's checks judge every byte against the folder catbench
/// made, change a file behind the server's back and try every way out of
/// the folder, so servers that ignore Range, cache forever or follow `..`
/// fail them (Catzilla's mount_static, in BundledPeerTests, shows a body
/// sent after HEAD and a second answer failing the framing part).
@Suite("files checks catch servers that ignore the HTTP rules or leave the folder", .serialized)
struct FilesCheckTests {
    /// A threaded app with only the route `wrong` gives, verified against the suite.
    static func verify(_ wrong: (ThreadedApp, StaticFolderService) throws -> Void) throws -> VerificationReport {
        let folder = try StaticFolderService.start()
        defer { folder.stop() }
        let app = ThreadedApp()
        try wrong(app, folder)
        let server = try ThreadedServer(app: app, configuration: Configuration(port: 0, workers: 2))
        defer { server.stop() }
        return Verifier.verify(
            suite: FilesSuite.contract, address: try SocketAddress(host: "127.0.0.1", port: server.port),
            services: ServiceDirectory([folder]))
    }

    static func failures(_ report: VerificationReport, _ check: String) -> [Finding] {
        report.failures.filter { $0.check.contains(check) }
    }

    /// The right answer from the suite's own rules, with `change` applied to the request's headers first.
    static func serve(
        _ files: StaticFiles, _ request: Request, dropping dropped: Set<String> = []
    ) -> Response {
        let path = request.pathParameters["path"] ?? ""
        let answer = files.answer(method: request.method, path: path) { name in
            dropped.contains(name.lowercased()) ? String?.none : request.header(name)
        }
        if answer.status >= 400 { return Response(status: answer.status, headers: answer.headers) }
        var response = Response(status: answer.status, contentType: answer.contentType, headers: answer.headers)
        response.file = answer.body
        response.declaredLength = answer.status == 304 ? nil : answer.length
        return response
    }

    @Test("the suite's own rules on the threaded stack pass (the baseline of the wrong servers below)")
    func rightServerPasses() throws {
        let report = try Self.verify { app, folder in
            let files = try StaticFiles(folder: folder.folder)
            try app.route("/static/<path:path>") { Self.serve(files, $0) }
        }
        #expect(report.failures.isEmpty, "\(report.failures)")
    }

    @Test("a server that says Accept-Ranges: bytes and ignores Range fails the range checks")
    func ignoresRange() throws {
        let report = try Self.verify { app, folder in
            let files = try StaticFiles(folder: folder.folder)
            try app.route("/static/<path:path>") { Self.serve(files, $0, dropping: ["range"]) }
        }
        let found = Self.failures(report, "Range bytes=0-99")
        #expect(found.contains { $0.message.contains("status 200, expected 206") }, "\(found)")
        #expect(report.failedWorkloads(of: FilesSuite.contract)["static-range"] != nil)
    }

    @Test("a server that keeps the bytes it read at start fails the changed-file check")
    func cachesForever() throws {
        let report = try Self.verify { app, folder in
            let files = try StaticFiles(folder: folder.folder)
            let cache = CachedFiles()
            try app.route("/static/<path:path>") { request in
                let path = request.pathParameters["path"] ?? ""
                if let kept = cache.get(path) { return kept }
                var response = Self.serve(files, request)
                if let file = response.file, response.status == 200 {
                    var bytes = [UInt8](repeating: 0, count: file.length)
                    _ = bytes.withUnsafeMutableBytes { pread(file.fd, $0.baseAddress, file.length, 0) }
                    file.close()
                    response.file = nil
                    response.declaredLength = nil
                    response.body = bytes
                    cache.put(path, response)
                }
                return response
            }
        }
        let found = Self.failures(report, "a file changed on disk")
        #expect(found.contains { $0.message.contains("still answered the old bytes") }, "\(found)")
    }

    @Test("a server that follows .. out of the folder fails the refusals, and the secret is named")
    func followsDotDot() throws {
        let report = try Self.verify { app, folder in
            try app.route("/static/<path:path>") { request in
                let path = (request.pathParameters["path"] ?? "").replacingPercentDots()
                guard let bytes = FileSystem.read(folder.folder + "/" + path) else { return Response(status: 404) }
                return Response(contentType: "application/octet-stream", body: bytes)
            }
        }
        let found = Self.failures(report, "refused: /static/%2e%2e/secret.txt")
        #expect(
            found.contains { $0.message.contains("status 200") && $0.message.contains(StaticFolder.secretText) },
            "\(found)")
    }
}

/// The caching server's store.
final class CachedFiles: Sendable {
    private let kept = Mutex<[String: Response]>([:])
    func get(_ path: String) -> Response? { kept.withLock { $0[path] } }
    func put(_ path: String, _ response: Response) { kept.withLock { $0[path] = response } }
}

extension String {
    /// Percent-decodes the dots and slashes a naive server would decode, and nothing more.
    fileprivate func replacingPercentDots() -> String {
        var s = self
        for (code, char) in [("%2e", "."), ("%2E", "."), ("%2f", "/"), ("%2F", "/")] {
            s = s.split(separator: code, omittingEmptySubsequences: false).joined(separator: char)
        }
        return s
    }
}
