import XCTest
@testable import Results

final class RenderingTests: XCTestCase {
    private let document: RunDocument = {
        var na = MeasurementRecord(
            server: "threaded", suite: "basic", workload: "plaintext", description: "GET /plaintext",
            protocolName: "h2c", connections: 64)
        na.notApplicable = "threaded speaks cleartext HTTP/1.1 only"
        var mw0 = Documents.measurement(
            server: "ccore", suite: "middleware", workload: "mw0", rps: [100_000, 100_000, 100_000])
        mw0.description = "no layers"
        return Documents.document(
            servers: [
                Documents.server("ccore"), Documents.server("threaded"),
                Documents.server("flask, \"the\" app", status: .failedToStart, version: "3.1.3"),
            ],
            measurements: [
                Documents.measurement(
                    server: "ccore", workload: "plaintext", rps: [150_000, 151_000, 149_000], allocations: 2),
                Documents.measurement(
                    server: "threaded", workload: "plaintext", rps: [70_000, 72_000, 68_000], allocations: 9),
                na, mw0,
                Documents.measurement(
                    server: "ccore", suite: "middleware", workload: "mw10", rps: [80_000, 80_000, 80_000]),
            ],
            suites: ["basic", "middleware"])
    }()

    func testSchemaRoundTrip() throws {
        let bytes = try ResultsJSON.encode(document)
        let back = try ResultsJSON.decode(bytes)
        XCTAssertEqual(try ResultsJSON.encode(back), bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        XCTAssertTrue(text.contains("\"schema_version\" : 3"), text)
        XCTAssertTrue(text.contains("\"percentile_spectrum\""))
        XCTAssertTrue(text.contains("\"load_average_before\""))
        XCTAssertEqual(back.measurements[0].repetitions[0].percentileSpectrum?.count, PercentilePoint.spectrum.count)
    }

    func testNewerSchemaIsRefusedWithAClearMessage() throws {
        var text = String(decoding: try ResultsJSON.encode(document), as: UTF8.self)
        text = text.replacingFirst("\"schema_version\" : 3", with: "\"schema_version\" : 99")
        XCTAssertThrowsError(try ResultsJSON.decode(Array(text.utf8))) { error in
            XCTAssertTrue("\(error)".contains("this catbench reads catbench.result up to v3"), "\(error)")
        }
    }

    func testMarkdownShowsWhatTheDatabaseSawBesideTheRows() throws {
        var m = Documents.measurement(server: "threaded", suite: "database", workload: "db", rps: [900, 1000, 1100])
        for i in m.repetitions.indices {
            m.repetitions[i].serviceFigures = [
                "db_queries_per_request": 1, "db_queries_per_s": m.repetitions[i].rps, "db_query_us": 8 + Double(i),
                "db_connections_peak": 1, "db_cpu_us_per_request": 30, "db_memory_per_connection_mib": 2.5,
                "db_pool_leased": 0.75,
            ]
        }
        m.summarize()
        XCTAssertEqual(m.median?.serviceFigures?["db_query_us"], 9)
        let plain = Documents.measurement(server: "ccore", suite: "database", workload: "db", rps: [2000])
        let doc = Documents.document(
            servers: [Documents.server("threaded"), Documents.server("ccore")], measurements: [m, plain],
            suites: ["database"])
        let md = MarkdownReport.render(doc)
        XCTAssertTrue(md.contains("As the database saw them"), md)
        XCTAssertTrue(
            md.contains("| db | threaded | 1.00 | 1,000 | 9.0 | 30.0 | 1 | n/a | 0.75 | n/a | n/a | 2.62 |"), md)
        XCTAssertFalse(md.contains("| db | ccore | 1.00"), md)
        // And through JSON: the figures are kept in the repetitions and the median.
        let back = try ResultsJSON.decode(try ResultsJSON.encode(doc))
        XCTAssertEqual(back.measurements[0].median?.serviceFigures?["db_cpu_us_per_request"], 30)
        XCTAssertFalse(
            MarkdownReport.render(Documents.document(servers: [], measurements: [plain])).contains("database saw"))
    }

    func testMarkdownHasThePlansColumnsAndMiddlewareOverhead() {
        let md = MarkdownReport.render(document)
        XCTAssertTrue(md.contains("## basic\n"), md)
        XCTAssertTrue(
            md.contains(
                "| Workload | Protocol, mode | Framework | Requests/sec | ± | Memory (MB) | Avg Latency (ms) |"), md)
        XCTAssertTrue(md.contains("| plaintext | http/1.1 c64 | ccore | **150,000** |"), md)
        XCTAssertTrue(md.contains("| plaintext | h2c c64 | threaded | n/a |"), md)
        XCTAssertTrue(md.contains("Middleware Overhead |"), md)
        XCTAssertTrue(md.contains("| mw10 | ccore | 80,000 |"), md)
        XCTAssertTrue(md.contains("| −20.0% req/s |"), md)
        XCTAssertTrue(md.contains("- flask, \"the\" app: failed to start"), md)
    }

    func testCSVHasOneQuotedRowPerMeasurement() {
        let csv = CSVReport.render(document)
        let lines = csv.split(separator: "\r\n", omittingEmptySubsequences: true)
        XCTAssertEqual(lines.count, 1 + document.measurements.count)
        XCTAssertEqual(lines[0].split(separator: ",").count, CSVReport.columns.count)
        XCTAssertTrue(
            lines[1].hasPrefix("ccore,basic,plaintext,http/1.1,c64,64,1,1,true,,measured,,,3,150000,149000,151000,"),
            String(lines[1]))
        XCTAssertTrue(lines[3].contains(",n/a,threaded speaks cleartext HTTP/1.1 only,,0,"), String(lines[3]))
        XCTAssertEqual(CSVReport.quote("a,\"b\""), "\"a,\"\"b\"\"\"")
        XCTAssertEqual(CSVReport.quote("plain"), "plain")
    }

    func testTableMarksTheBestAndTheFailedServer() {
        let table = TableRenderer.render(document)
        XCTAssertTrue(table.contains("150000 *"), table)
        XCTAssertTrue(table.contains("flask, \"the\" app: not measured — failed to start"), table)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

final class ColourTests: XCTestCase {
    func testColourOnlyWhenAskedAndColumnsStayAligned() {
        let d = Documents.document(
            servers: [Documents.server("ccore"), Documents.server("async")],
            measurements: [
                Documents.measurement(server: "ccore", workload: "plaintext", rps: [150_000, 150_000, 150_000]),
                Documents.measurement(server: "async", workload: "plaintext", rps: [70_000, 70_000, 70_000]),
            ])
        let plain = TableRenderer.render(d)
        let coloured = TableRenderer.render(d, colour: true)
        XCTAssertFalse(plain.contains("\u{1B}"))
        XCTAssertTrue(coloured.contains("\u{1B}[1;32m150000 *\u{1B}[0m"), coloured)
        // Without the escapes, the coloured table is the plain one.
        var stripped = coloured
        for code in ["\u{1B}[1;32m", "\u{1B}[0m"] {
            stripped = stripped.split(separator: code, omittingEmptySubsequences: false).joined()
        }
        XCTAssertEqual(stripped, plain)
    }
}
