import XCTest
@testable import Results

final class CriteriaTests: XCTestCase {
    private let document = Documents.document(
        servers: [
            Documents.server("ccore"), Documents.server("fastapi", version: "0.165.0"),
            Documents.server("flask", status: .failedToStart, version: "3.1.3"),
        ],
        measurements: [
            Documents.measurement(
                server: "ccore", workload: "plaintext", rps: [150_000, 151_000, 149_000], rss: 20_000_000),
            Documents.measurement(
                server: "ccore", workload: "json", rps: [120_000, 120_000, 120_000], rss: 20_000_000),
            Documents.measurement(
                server: "fastapi", workload: "plaintext", rps: [15_000, 15_000, 15_000], rss: 150_000_000),
            Documents.measurement(
                server: "fastapi", workload: "json", rps: [15_000, 15_000, 15_000], rss: 150_000_000),
        ])

    private func judge(_ criterion: Criterion) -> CriterionResult {
        CriteriaCheck.evaluate(CriteriaFile(criteria: [criterion]), on: document)[0]
    }

    func testPassWithTheGeometricMeanOfTheWorkloadRatios() {
        let r = judge(
            Criterion(
                name: "10× FastAPI", suite: "basic", metric: .throughput, servers: ["ccore"], baseline: "fastapi",
                atLeast: 5))
        XCTAssertEqual(r.verdict, .pass)
        XCTAssertEqual(r.ratio ?? 0, (10.0 * 8.0).squareRoot(), accuracy: 0.0001)
        XCTAssertEqual(r.workloads.sorted(), ["json", "plaintext"])
    }

    func testFailWhenTheBoundIsMissed() {
        let r = judge(
            Criterion(
                name: "20× FastAPI", suite: "basic", metric: .throughput, servers: ["ccore"], baseline: "fastapi",
                atLeast: 20))
        XCTAssertEqual(r.verdict, .fail)
        let memory = judge(
            Criterion(
                name: "memory", suite: "basic", metric: .memory, servers: ["ccore"], baseline: "fastapi", atMost: 0.1))
        XCTAssertEqual(memory.verdict, .fail)  // 20 MB / 150 MB = 0.133
        XCTAssertEqual(
            judge(
                Criterion(
                    name: "memory", suite: "basic", metric: .memory, servers: ["ccore"], baseline: "fastapi",
                    atMost: 0.2)
            ).verdict, .pass)
    }

    func testRowsWithErrorsWrongAnswersOrFailuresNeverPass() {
        let criterion = Criterion(
            name: "10× FastAPI", suite: "basic", metric: .throughput, servers: ["ccore"], baseline: "fastapi",
            atLeast: 5)
        for trouble in ["errors", "wrong", "failed"] {
            var doc = document
            let index = doc.measurements.firstIndex { $0.server == "ccore" && $0.workload == "json" }!
            switch trouble {
            case "errors": doc.measurements[index].repetitions[0].errors.timeout = 3
            case "wrong": doc.measurements[index].repetitions[0].wrongAnswers = 1
            default:
                doc.measurements[index].repetitions = []
                doc.measurements[index].failure = "failed verification: json: wrong body"
            }
            doc.measurements[index].summarize()
            let r = CriteriaCheck.evaluate(CriteriaFile(criteria: [criterion]), on: doc)[0]
            // The ratio alone would pass (10× on plaintext); the troubled json row fails the server.
            XCTAssertEqual(r.verdict, .fail, trouble)
            XCTAssertTrue(r.detail.contains("json"), r.detail)
            // The same trouble in the baseline's rows makes the verdict n/a, not a pass.
            var base = document
            let b = base.measurements.firstIndex { $0.server == "fastapi" && $0.workload == "json" }!
            base.measurements[b].repetitions[0].wrongAnswers = 2
            base.measurements[b].summarize()
            XCTAssertEqual(
                CriteriaCheck.evaluate(CriteriaFile(criteria: [criterion]), on: base)[0].verdict, .notApplicable)
        }
    }

    func testNotApplicableWithoutMeasurementsOrBaseline() {
        XCTAssertEqual(
            judge(
                Criterion(
                    name: "db", suite: "database", metric: .throughput, servers: ["ccore"], baseline: "fastapi",
                    atLeast: 1.2)
            ).verdict, .notApplicable)
        XCTAssertEqual(
            judge(
                Criterion(
                    name: "vs flask", suite: "basic", metric: .throughput, servers: ["ccore"], baseline: "flask",
                    atLeast: 1)
            ).verdict, .notApplicable)
        XCTAssertEqual(
            judge(
                Criterion(
                    name: "vs django", suite: "basic", metric: .throughput, servers: ["ccore"], baseline: "django",
                    atLeast: 1)
            ).verdict, .notApplicable)
        // A workload neither server was measured on: nothing to compare.
        XCTAssertEqual(
            judge(
                Criterion(
                    name: "cpu", suite: "basic", workloads: ["nope"], metric: .cpuPerRequest, servers: ["ccore"],
                    baseline: "fastapi", atMost: 1)
            ).verdict, .notApplicable)
    }

    func testAJudgedServerThatDidNotRunFails() {
        let r = judge(
            Criterion(
                name: "flask vs fastapi", suite: "basic", metric: .throughput, servers: ["flask"], baseline: "fastapi",
                atLeast: 1))
        XCTAssertEqual(r.verdict, .fail)
        XCTAssertTrue(r.detail.contains("failed to start"), r.detail)
    }

    func testRenderCountsVerdicts() {
        let results = CriteriaCheck.evaluate(
            CriteriaFile(criteria: [
                Criterion(
                    name: "a", suite: "basic", metric: .throughput, servers: ["ccore"], baseline: "fastapi", atLeast: 5),
                Criterion(
                    name: "b", suite: "database", metric: .throughput, servers: ["ccore"], baseline: "fastapi",
                    atLeast: 5),
            ]), on: document)
        let text = CriteriaCheck.render(results)
        XCTAssertTrue(text.hasPrefix("PASS  a — ccore: throughput ccore/fastapi = 8.94"), text)
        XCTAssertTrue(text.contains("n/a   b — ccore: no database measurements in this result"), text)
        XCTAssertTrue(text.hasSuffix("1 PASS, 0 FAIL, 1 n/a\n"), text)
    }
}
