import ArgumentParser
import Shared

struct SynthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth", abstract: "Writes a seeded synthetic Stage-1 catalog (features.parquet, item_metadata.json).")

    @Option(parsing: .unconditional, help: "Items.") var items: Int = 1000
    @Option(parsing: .unconditional, help: "Seed.") var seed: UInt64 = 42
    @Option(help: "Output folder.") var out: String

    func run() throws {
        guard items >= 1 else { throw CLIError.usage("--items must be ≥ 1, got \(items)") }
        do { try SyntheticCatalog.write(items: items, seed: seed, folder: out) } catch { throw CLIError.runtime("\(error)") }
        print("wrote \(items) items to \(out)/features.parquet and \(out)/item_metadata.json")
    }
}
