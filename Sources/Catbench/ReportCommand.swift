import ArgumentParser
import Posix
import Results

/// Renders a results document again, in any of the report formats.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Render a results file as a terminal table, Markdown, CSV or a self-contained HTML page with charts.")

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, md, csv, html
    }

    @Argument(help: "A results file written by catbench run.")
    var results: String

    @Option(help: "table, md, csv or html.")
    var format: Format = .table

    @Option(help: "Write to this file instead of standard output (written whole or not at all).")
    var out: String?

    func run() throws {
        let document = try ResultsFile.load(results)
        let text: String
        switch format {
        case .table: text = TableRenderer.render(document, colour: out == nil && Terminal.colourOnStandardOutput)
        case .md: text = MarkdownReport.render(document)
        case .csv: text = CSVReport.render(document)
        case .html: text = HTMLReport.render(document)
        }
        if let out {
            try OutputFile.writeAtomically(Array(text.utf8), to: out)
            OutputFile.standardError("\(format.rawValue) report written to \(out)")
        } else {
            OutputFile.standardOutput(text)
        }
    }
}

/// Reading a results file with an error a user can act on.
enum ResultsFile {
    static func load(_ path: String) throws -> RunDocument {
        guard let bytes = FileSystem.read(path) else {
            throw ValidationError(
                "cannot read the results file \(path): \(FileSystem.exists(path) ? "permission denied or too large" : "no such file")"
            )
        }
        do {
            return try ResultsJSON.decode(bytes)
        } catch let error as ResultsJSON.UnsupportedSchema {
            throw ValidationError("\(path): \(error.description)")
        } catch {
            throw ValidationError("\(path) is not a catbench results document: \(error)")
        }
    }
}
