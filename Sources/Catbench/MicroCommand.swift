import ArgumentParser
import FoundationEssentials
import Posix
import Results
import Runner
import SuiteKit
import Suites

struct MicroCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "In-process micro-benchmarks of a framework mechanism, the same workload on every stack.",
        subcommands: [MicroDICommand.self, MicroValidationCommand.self])
}

struct MicroDICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "di",
        abstract: "Time and allocations per dependency resolution, by scope, on each stack's container.")

    @Option(name: .customLong("stack"), help: "Stack (repeatable): ccore, async, threaded. Default: all.")
    var stacks: [String] = []

    @Option(help: "Resolutions per measurement.")
    var iterations = 100_000

    @Option(help: "Write the rows as JSON to this file, or '-' for standard output.")
    var json: String?

    func run() throws {
        let chosen = try (stacks.isEmpty ? StackName.allCases.map(\.rawValue) : stacks).map { name in
            guard let stack = StackName(rawValue: name) else { throw ValidationError("unknown stack '\(name)'") }
            return stack
        }
        guard (1...100_000_000).contains(iterations) else {
            throw ValidationError("--iterations must be within 1…100,000,000")
        }
        let cpus = Affinity.availableCPUs()
        let rows = try MicroDI.run(stacks: chosen, iterations: iterations, cpus: cpus.count >= 2 ? [cpus[0]] : nil)
        var table: [[String]] = [["stack", "resolution", "ns/resolution", "allocs/resolution", "bytes/resolution"]]
        for row in rows {
            table.append([
                row.stack, row.resolution, TableRenderer.format(row.nanosPerResolution, decimals: 1),
                TableRenderer.format(row.allocationsPerResolution, decimals: 2),
                TableRenderer.format(row.bytesPerResolution, decimals: 0),
            ])
        }
        let text =
            TableRenderer.plain(table, textColumns: 2)
            + "singleton: Config, warm · request: Logger in a fresh request scope · cached: Logger again in the same request\n"
            + "transient: a new AuditEvent · graph: Notifier in a fresh scope (12 services, a pooled connection, an async factory)\n"
        try emit(text: text, rows: rows, json: json)
    }
}

struct MicroValidationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validation",
        abstract:
            "Models validated per second by each stack's mechanism (bytes in, normalized document or failures out).")

    @Option(name: .customLong("stack"), help: "Stack (repeatable): ccore, async, threaded. Default: all.")
    var stacks: [String] = []

    @Option(help: "Small models per measurement (the 1000-item model runs 1/200 as many).")
    var iterations = 20_000

    @Option(help: "Write the rows as JSON to this file, or '-' for standard output.")
    var json: String?

    func run() throws {
        let chosen = try (stacks.isEmpty ? StackName.allCases.map(\.rawValue) : stacks).map { name in
            guard let stack = StackName(rawValue: name) else { throw ValidationError("unknown stack '\(name)'") }
            return stack
        }
        guard (1...100_000_000).contains(iterations) else {
            throw ValidationError("--iterations must be within 1…100,000,000")
        }
        let cpus = Affinity.availableCPUs()
        let rows = try MicroValidation.run(
            stacks: chosen, iterations: iterations, cpus: cpus.count >= 2 ? [cpus[0]] : nil)
        var table: [[String]] = [["stack", "model", "models/s", "µs/model", "allocs/model"]]
        for row in rows {
            table.append([
                row.stack, row.model, TableRenderer.format(row.modelsPerSecond, decimals: 0),
                TableRenderer.format(row.microsPerModel, decimals: 2),
                TableRenderer.format(row.allocationsPerModel, decimals: 1),
            ])
        }
        let text =
            TableRenderer.plain(table, textColumns: 2)
            + "small: a valid user with 1 item · large: with 1000 items · invalid: nine failing fields, all reported\n"
        try emit(text: text, rows: rows, json: json)
    }
}

func emit<T: Encodable>(text: String, rows: T, json: String?) throws {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    let data = String(decoding: try encoder.encode(rows), as: UTF8.self) + "\n"
    if json == "-" {
        OutputFile.standardError(text)
        OutputFile.standardOutput(data)
    } else {
        OutputFile.standardOutput(text)
        if let json { try OutputFile.writeAtomically(Array(data.utf8), to: json) }
    }
}
