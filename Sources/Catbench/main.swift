import ArgumentParser
import Runner

/// catbench: which server design wins, feature by feature, and by how much.
struct Catbench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catbench",
        abstract:
            "Benchmark server designs feature by feature: embedded stacks, load generator, allocation accounting.",
        discussion:
            "With no subcommand, runs the default comparison: the basic suite on the ccore, async and threaded stacks.",
        version: BuildInfo.versionText,
        subcommands: [
            RunCommand.self, ServeCommand.self, LoadCommand.self, VerifyCommand.self, ContractCommand.self,
            UpstreamCommand.self, PeersCommand.self, MicroCommand.self, ReportCommand.self, CompareCommand.self,
            CheckCommand.self,
        ],
        defaultSubcommand: RunCommand.self
    )
}

Catbench.main()
