import Foundation
import XCTest
@testable import Results

/// Each renderer on a stored result of a real run (stacks and peers), against
/// output reviewed by eye once. After a deliberate change to a renderer,
/// rewrite the files with CATBENCH_UPDATE_GOLDEN=1 and review the diff.
final class GoldenTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/results")

    private func document() throws -> RunDocument {
        let bytes = try Data(contentsOf: Self.folder.appendingPathComponent("run.json"))
        return try ResultsJSON.decode(Array(bytes))
    }

    private func check(_ rendered: String, against name: String) throws {
        let url = Self.folder.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["CATBENCH_UPDATE_GOLDEN"] == "1" {
            try Data(rendered.utf8).write(to: url)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if rendered != expected {
            let got = rendered.split(separator: "\n", omittingEmptySubsequences: false)
            let want = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let line = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
            XCTFail(
                "\(name) differs at line \(line + 1):\n got: \(line < got.count ? got[line] : "(end)")\nwant: \(line < want.count ? want[line] : "(end)")"
            )
        }
    }

    func testTable() throws { try check(TableRenderer.render(try document()), against: "run.txt") }
    func testMarkdown() throws { try check(MarkdownReport.render(try document()), against: "run.md") }
    func testCSV() throws { try check(CSVReport.render(try document()), against: "run.csv") }
    func testHTML() throws { try check(HTMLReport.render(try document()), against: "run.html") }

    func testTheStoredResultRoundTrips() throws {
        let bytes = try Data(contentsOf: Self.folder.appendingPathComponent("run.json"))
        XCTAssertEqual(try ResultsJSON.encode(try ResultsJSON.decode(Array(bytes))), Array(bytes))
    }
}
