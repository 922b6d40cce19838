import ArgumentParser
import Posix
import Results
import Yams

/// Success criteria against a result: PASS, FAIL or n/a per criterion.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Judge a results file against success criteria (e.g. criteria/plan.yaml).",
        discussion:
            "Exit status: 0 when no criterion fails, 2 when one fails (with --strict also when one is n/a), 1 on an unreadable file."
    )

    @Argument(help: "A criteria file (YAML): see criteria/plan.yaml.")
    var criteria: String

    @Argument(help: "A results file written by catbench run.")
    var results: String

    @Flag(help: "A criterion that cannot be judged (n/a) fails too.")
    var strict = false

    func run() throws {
        guard let bytes = FileSystem.read(criteria, limit: 4 << 20) else {
            throw ValidationError("cannot read the criteria file \(criteria)")
        }
        let file: CriteriaFile
        do {
            file = try YAMLDecoder().decode(CriteriaFile.self, from: String(decoding: bytes, as: UTF8.self))
        } catch {
            throw ValidationError("\(criteria) is not a valid criteria file: \(error)")
        }
        let outcome = CriteriaCheck.evaluate(file, on: try ResultsFile.load(results))
        OutputFile.standardOutput(CriteriaCheck.render(outcome))
        if outcome.contains(where: { $0.verdict == .fail || (strict && $0.verdict == .notApplicable) }) {
            throw ExitCode(2)
        }
    }
}
