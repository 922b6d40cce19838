import XCTest
@testable import Results

final class ComparisonTests: XCTestCase {
    private func pair(base: [Double], new: [Double], threshold: Double = 0.05) -> Comparison {
        let b = Documents.document(
            servers: [Documents.server("ccore")],
            measurements: [Documents.measurement(server: "ccore", workload: "plaintext", rps: base)])
        let n = Documents.document(
            servers: [Documents.server("ccore")],
            measurements: [Documents.measurement(server: "ccore", workload: "plaintext", rps: new)])
        return Comparison(base: b, new: n, threshold: threshold)
    }

    private func verdict(_ c: Comparison, _ metric: String) -> Comparison.Verdict? {
        c.rows.first { $0.metric == metric }?.verdict
    }

    func testAFallBeyondThresholdAndSpreadIsARegression() {
        let c = pair(base: [100_000, 101_000, 99_000], new: [80_000, 81_000, 79_000])
        XCTAssertEqual(verdict(c, "req/s"), .regression)
        XCTAssertEqual(c.regressions.first?.change ?? 0, -0.2, accuracy: 0.001)
        // Server CPU per request rose as throughput fell (1e6 / rps in these documents).
        XCTAssertEqual(verdict(c, "CPU µs/req"), .regression)
        XCTAssertTrue(ComparisonReport.render(c, format: .table).contains("REGRESSION"))
    }

    func testAChangeInsideTheRepetitionsSpreadIsNoise() {
        // The median falls 8% (beyond 5%), but the new run's best repetition is within the base's range.
        let c = pair(base: [100_000, 101_000, 99_000], new: [92_000, 100_000, 91_000])
        XCTAssertEqual(verdict(c, "req/s"), .unchanged)
        XCTAssertTrue(c.regressions.isEmpty)
    }

    func testAChangeBelowTheThresholdIsNoiseEvenOutsideTheSpread() {
        let c = pair(base: [100_000, 100_100, 99_900], new: [97_000, 97_100, 96_900])
        XCTAssertEqual(verdict(c, "req/s"), .unchanged)
        XCTAssertEqual(
            verdict(pair(base: [100_000, 100_100, 99_900], new: [97_000, 97_100, 96_900], threshold: 0.02), "req/s"),
            .regression)
    }

    func testAnImprovementIsNotARegression() {
        let c = pair(base: [100_000, 101_000, 99_000], new: [120_000, 121_000, 119_000])
        XCTAssertEqual(verdict(c, "req/s"), .improvement)
        XCTAssertTrue(c.regressions.isEmpty)
        XCTAssertEqual(c.improvements.count, 2)  // req/s up, CPU per request down
    }

    func testLatencyRisingIsARegression() {
        let b = Documents.document(
            servers: [Documents.server("async")],
            measurements: [
                Documents.measurement(server: "async", workload: "json", rps: [50_000, 50_000, 50_000], p50: 100)
            ])
        let n = Documents.document(
            servers: [Documents.server("async")],
            measurements: [
                Documents.measurement(server: "async", workload: "json", rps: [50_000, 50_000, 50_000], p50: 150)
            ])
        let c = Comparison(base: b, new: n, threshold: 0.05)
        XCTAssertEqual(verdict(c, "p50"), .regression)
        XCTAssertEqual(verdict(c, "req/s"), .unchanged)
    }

    func testAMeasurementMissingFromTheNewRunIsReported() {
        let b = Documents.document(
            servers: [Documents.server("ccore")],
            measurements: [
                Documents.measurement(server: "ccore", workload: "plaintext", rps: [1, 1, 1]),
                Documents.measurement(server: "ccore", workload: "json", rps: [1, 1, 1]),
            ])
        let n = Documents.document(
            servers: [Documents.server("ccore")],
            measurements: [
                Documents.measurement(server: "ccore", workload: "plaintext", rps: [1, 1, 1]),
                Documents.measurement(server: "ccore", workload: "user", rps: [1, 1, 1]),
            ])
        let c = Comparison(base: b, new: n, threshold: 0.05)
        XCTAssertEqual(c.missing.map(\.key), ["ccore · basic/json · http/1.1 · c64"])
        XCTAssertEqual(c.rows.filter { $0.verdict == .added }.map(\.key), ["ccore · basic/user · http/1.1 · c64"])
        let md = ComparisonReport.render(c, format: .md)
        XCTAssertTrue(md.contains("| ccore · basic/json · http/1.1 · c64 |"), md)
        XCTAssertTrue(md.contains("1 missing in the new run"), md)
    }
}
