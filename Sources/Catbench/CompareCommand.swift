import ArgumentParser
import Results

/// Two results side by side, for CI: exit 2 when something got worse.
struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two results files measurement by measurement.",
        discussion: """
            A change is a regression only when it is worse than the threshold and the two runs' repetitions do not \
            overlap (a change inside the spread is noise). Compared: req/s, p50 and p99 latency, allocations and \
            server CPU per request. Exit status: 0 no regression, 2 at least one regression (or a measurement of \
            BASE missing from NEW, unless --allow-missing), 1 an unreadable file.
            """)

    @Argument(help: "The baseline results file.")
    var base: String

    @Argument(help: "The new results file.")
    var new: String

    @Option(help: "Smallest change that counts, in percent (e.g. 5 or 5%).")
    var threshold: String = "5%"

    @Option(help: "table or md (a pull-request comment).")
    var format: ComparisonReport.Format = .table

    @Flag(help: "Show every compared figure, not only the changed ones.")
    var all = false

    @Flag(help: "Measurements of BASE absent from NEW do not fail the comparison.")
    var allowMissing = false

    func run() throws {
        let text = threshold.hasSuffix("%") ? String(threshold.dropLast()) : threshold
        guard let percent = Double(text), percent >= 0, percent < 1000 else {
            throw ValidationError("--threshold takes a percentage such as 5 or 5%")
        }
        let comparison = Comparison(
            base: try ResultsFile.load(base), new: try ResultsFile.load(new), threshold: percent / 100)
        OutputFile.standardOutput(ComparisonReport.render(comparison, format: format, all: all))
        if !comparison.regressions.isEmpty || (!allowMissing && !comparison.missing.isEmpty) {
            throw ExitCode(2)
        }
    }
}

extension ComparisonReport.Format: ExpressibleByArgument {}
