import Foundation
import Testing

/// report, compare and check on a results file a real (short) run wrote.
@Suite("report, compare and check", .serialized)
struct ReportCommandTests {
    /// One short run of two stacks, shared by the tests of this suite.
    static let run: Result<(dir: URL, results: String), Error> = Result {
        let binary = try BinaryHarness.binary()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("catbench-report-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let results = dir.appendingPathComponent("run.json").path
        let run = try BinaryHarness.run(
            binary,
            [
                "run", "--stack", "ccore", "--stack", "threaded", "--suite", "basic", "--duration", "200ms",
                "--warmup", "0", "--repeat", "3", "-c", "8", "--quiet", "--out", results,
            ], timeout: 120)
        guard run.status == 0 else { throw BinaryHarness.Missing(description: "the run failed: \(run.stderr)") }
        return (dir, results)
    }

    private func fixture() throws -> (binary: String, dir: URL, results: String) {
        let (dir, results) = try Self.run.get()
        return (try BinaryHarness.binary(), dir, results)
    }

    /// A copy of the results with every figure of `server` scaled (req/s by `factor`), or its measurements removed.
    /// Scaled copies are also made steady: every repetition's req/s is set to the median, so that a short run's
    /// noise (one 200 ms repetition can stall) cannot make two ranges overlap and hide a change the test made.
    private func altered(_ results: String, server: String, rpsFactor: Double?, to path: String) throws {
        var json =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: results))) as! [String: Any]
        var measurements = json["measurements"] as! [[String: Any]]
        if let factor = rpsFactor {
            measurements = measurements.map { m in
                var m = m
                var median = m["median"] as! [String: Any]
                let rps = (median["rps"] as! Double) * (m["server"] as? String == server ? factor : 1)
                m["repetitions"] = (m["repetitions"] as! [[String: Any]]).map { rep in
                    var rep = rep
                    rep["rps"] = rps
                    return rep
                }
                for key in ["rps", "rps_min", "rps_max"] { median[key] = rps }
                m["median"] = median
                return m
            }
        } else {
            measurements.removeAll { $0["server"] as? String == server }
        }
        json["measurements"] = measurements
        try JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys]).write(
            to: URL(fileURLWithPath: path))
    }

    @Test("report renders table, Markdown, CSV and HTML, to standard output or a file")
    func reportFormats() throws {
        let (binary, dir, results) = try fixture()
        let table = try BinaryHarness.run(binary, ["report", results])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("ccore") && table.stdout.contains("req/s"))
        #expect(!table.stdout.contains("\u{1B}["), "no colour when standard output is not a terminal")
        let md = try BinaryHarness.run(binary, ["report", results, "--format", "md"])
        #expect(md.stdout.contains("## basic") && md.stdout.contains("| Framework | Requests/sec |"), "\(md.stdout)")
        let csv = try BinaryHarness.run(binary, ["report", results, "--format", "csv"])
        let lines = csv.stdout.split(separator: "\r\n")
        #expect(lines.first?.hasPrefix("server,suite,workload,protocol,mode,") == true)
        #expect(lines.count == 1 + 8, "two stacks × four workloads: \(csv.stdout)")
        let page = dir.appendingPathComponent("report.html").path
        let html = try BinaryHarness.run(binary, ["report", results, "--format", "html", "--out", page])
        #expect(html.status == 0, "\(html.stderr)")
        let text = try String(contentsOfFile: page, encoding: .utf8)
        #expect(text.hasPrefix("<!DOCTYPE html>") && text.contains("<svg"))
    }

    @Test("report refuses a missing file, a file that is not a result, and a newer schema")
    func reportErrors() throws {
        let (binary, dir, results) = try fixture()
        let missing = try BinaryHarness.run(binary, ["report", dir.appendingPathComponent("nope.json").path])
        #expect(missing.status != 0 && missing.stderr.contains("no such file"), "\(missing.stderr)")
        let garbage = dir.appendingPathComponent("garbage.json")
        try Data("not json".utf8).write(to: garbage)
        let bad = try BinaryHarness.run(binary, ["report", garbage.path])
        #expect(bad.status != 0 && bad.stderr.contains("is not a catbench results document"), "\(bad.stderr)")
        let newer = dir.appendingPathComponent("newer.json")
        let text = try String(contentsOfFile: results, encoding: .utf8).replacingOccurrences(
            of: "\"schema_version\" : 3", with: "\"schema_version\" : 7")
        try Data(text.utf8).write(to: newer)
        let future = try BinaryHarness.run(binary, ["report", newer.path])
        #expect(future.status != 0 && future.stderr.contains("reads catbench.result up to v3"), "\(future.stderr)")
    }

    @Test("compare exits 0 without regression, 2 on a regression or a missing measurement")
    func compareExitCodes() throws {
        let (binary, dir, results) = try fixture()
        let same = try BinaryHarness.run(binary, ["compare", results, results])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
        #expect(same.stdout.hasPrefix("0 regressions, 0 improvements"), "\(same.stdout)")
        let steady = dir.appendingPathComponent("steady.json").path
        try altered(results, server: "ccore", rpsFactor: 1, to: steady)
        let slower = dir.appendingPathComponent("slower.json").path
        try altered(results, server: "ccore", rpsFactor: 0.5, to: slower)
        let regression = try BinaryHarness.run(binary, ["compare", steady, slower, "--threshold", "10%"])
        #expect(regression.status == 2, "\(regression.stdout)\(regression.stderr)")
        #expect(regression.stdout.hasPrefix("4 regressions"), "\(regression.stdout)")
        #expect(regression.stdout.contains("REGRESSION"))
        let md = try BinaryHarness.run(binary, ["compare", steady, slower, "--format", "md"])
        #expect(md.status == 2 && md.stdout.hasPrefix("### catbench compare"), "\(md.stdout)")
        let improved = try BinaryHarness.run(binary, ["compare", slower, steady])
        #expect(improved.status == 0 && improved.stdout.contains("4 improvements"), "\(improved.stdout)")
        let fewer = dir.appendingPathComponent("fewer.json").path
        try altered(results, server: "threaded", rpsFactor: nil, to: fewer)
        let missing = try BinaryHarness.run(binary, ["compare", results, fewer])
        #expect(missing.status == 2 && missing.stdout.contains("4 missing in the new run"), "\(missing.stdout)")
        #expect(try BinaryHarness.run(binary, ["compare", results, fewer, "--allow-missing"]).status == 0)
        let badThreshold = try BinaryHarness.run(binary, ["compare", results, results, "--threshold", "lots"])
        #expect(badThreshold.status != 0 && badThreshold.status != 2, "\(badThreshold.stderr)")
    }

    @Test("check judges criteria: PASS and n/a exit 0, FAIL exits 2, --strict fails n/a")
    func checkCriteria() throws {
        let (binary, dir, results) = try fixture()
        func criteria(_ name: String, _ yaml: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: path))
            return path
        }
        let passing = try criteria(
            "pass.yaml",
            """
            criteria:
              # A margin wide enough for a fixture of 200 ms loads, where one stall halves a ratio (CI saw 0.47).
              - name: ccore at least a fifth of threaded
                suite: basic
                metric: throughput
                server: ccore
                baseline: threaded
                at_least: 0.2
              - name: database
                suite: database
                metric: throughput
                servers: [ccore]
                baseline: threaded
                at_least: 1.2
            """)
        let pass = try BinaryHarness.run(binary, ["check", passing, results])
        #expect(pass.status == 0, "\(pass.stdout)\(pass.stderr)")
        #expect(
            pass.stdout.contains("PASS  ccore at least a fifth of threaded — ccore: throughput ccore/threaded = "),
            "\(pass.stdout)")
        #expect(
            pass.stdout.contains("n/a   database — ccore: no database measurements in this result"), "\(pass.stdout)")
        #expect(try BinaryHarness.run(binary, ["check", passing, results, "--strict"]).status == 2)
        let failing = try criteria(
            "fail.yaml",
            """
            criteria:
              - name: ccore 100× threaded
                suite: basic
                metric: throughput
                server: ccore
                baseline: threaded
                at_least: 100
            """)
        let fail = try BinaryHarness.run(binary, ["check", failing, results])
        #expect(fail.status == 2 && fail.stdout.hasPrefix("FAIL  ccore 100× threaded"), "\(fail.stdout)")
        let plan = BinaryHarness.packageRoot.appendingPathComponent("criteria/plan.yaml").path
        let planned = try BinaryHarness.run(binary, ["check", plan, results])
        #expect(
            planned.status == 0 && planned.stdout.contains("0 PASS, 0 FAIL, 13 n/a"),
            "\(planned.stdout)\(planned.stderr)")
        let broken = try criteria(
            "broken.yaml",
            "criteria:\n  - name: no bounds\n    suite: basic\n    metric: throughput\n    server: ccore\n    baseline: threaded\n"
        )
        let invalid = try BinaryHarness.run(binary, ["check", broken, results])
        #expect(
            invalid.status != 0 && invalid.status != 2 && invalid.stderr.contains("needs at_least or at_most"),
            "\(invalid.stderr)")
    }

    @Test("the HTML report renders in headless Chromium to a page that is not blank")
    func htmlInChromium() throws {
        let (binary, dir, results) = try fixture()
        let page = dir.appendingPathComponent("chromium.html").path
        let rendered = try BinaryHarness.run(binary, ["report", results, "--format", "html", "--out", page])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            },
            "Chromium is missing: scripts/test installs Debian's chromium package")
        let png = dir.appendingPathComponent("report.png").path
        let profile = dir.appendingPathComponent("chromium-profile").path
        let shot = try BinaryHarness.run(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--disable-background-networking", "--user-data-dir=\(profile)", "--window-size=1200,2000",
                "--screenshot=\(png)", "file://\(page)",
            ], timeout: 90)
        #expect(FileManager.default.fileExists(atPath: png), "no screenshot: \(shot.stderr)")
        let stats = try BinaryHarness.run(
            "/usr/bin/env",
            ["python3", BinaryHarness.packageRoot.appendingPathComponent("scripts/png-stats").path, png], timeout: 120)
        #expect(stats.status == 0, "\(stats.stderr)")
        let figures = try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as! [String: Any]
        #expect(figures["width"] as? Int == 1200)
        // Charts in several colours, text and rules: far from one flat colour.
        #expect((figures["colours"] as? Int ?? 0) >= 16, "\(stats.stdout)")
        #expect((figures["non_background"] as? Double ?? 0) >= 0.03, "\(stats.stdout)")
    }
}
