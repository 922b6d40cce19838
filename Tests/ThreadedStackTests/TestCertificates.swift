import Foundation

/// A root, an intermediate and a server certificate for 127.0.0.1, made once per
/// test run with the `openssl` command line in a temporary folder that is removed
/// at once (the PEM text is kept in memory). The server presents the server
/// certificate and the intermediate; clients trust only the root, so a server
/// that dropped the chain would fail verification.
struct TestCertificates: Sendable {
    var rootPEM: String
    /// The server certificate, then the intermediate.
    var chainPEM: String
    var keyPEM: String
    /// A key of another certificate: the wrong key for `chainPEM`.
    var otherKeyPEM: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let shared: Result<TestCertificates, Failure> = Result { try make() }.mapError {
        $0 as? Failure ?? Failure(description: "\($0)")
    }

    private static func make() throws -> TestCertificates {
        let tool = ["/usr/bin/openssl", "/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tool else {
            throw Failure(description: "the openssl command is missing: apt-get install openssl")
        }
        let folder = FileManager.default.temporaryDirectory
            .appendingPathComponent("threaded-tls-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        func path(_ name: String) -> String { folder.appendingPathComponent(name).path }
        func run(_ arguments: [String]) throws {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.standardOutput = FileHandle.nullDevice
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(text)")
            }
        }
        func write(_ name: String, _ text: String) throws {
            try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        }
        let curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try run(
            ["req", "-x509"] + curve + [
                "-keyout", path("root.key"), "-out", path("root.pem"), "-days", "2",
                "-subj", "/CN=catbench test root",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ])
        try write("ca.ext", "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
        try run(
            ["req"] + curve + [
                "-keyout", path("inter.key"), "-out", path("inter.csr"),
                "-subj", "/CN=catbench test intermediate",
            ])
        try run([
            "x509", "-req", "-in", path("inter.csr"), "-CA", path("root.pem"), "-CAkey", path("root.key"),
            "-set_serial", "2", "-days", "2", "-extfile", path("ca.ext"), "-out", path("inter.pem"),
        ])
        try write(
            "leaf.ext",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                + "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        try run(["req"] + curve + ["-keyout", path("leaf.key"), "-out", path("leaf.csr"), "-subj", "/CN=localhost"])
        try run([
            "x509", "-req", "-in", path("leaf.csr"), "-CA", path("inter.pem"), "-CAkey", path("inter.key"),
            "-set_serial", "3", "-days", "2", "-extfile", path("leaf.ext"), "-out", path("leaf.pem"),
        ])
        try run(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path("other.key")])
        func read(_ name: String) throws -> String { try String(contentsOfFile: path(name), encoding: .utf8) }
        return TestCertificates(
            rootPEM: try read("root.pem"), chainPEM: try read("leaf.pem") + read("inter.pem"),
            keyPEM: try read("leaf.key"), otherKeyPEM: try read("other.key"))
    }
}
