import ArgumentParser
import Shared

struct SynthVectorsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "synth-vectors", abstract: "Writes a seeded random float32 matrix (.npy).")

    @Option(parsing: .unconditional, help: "Rows.") var rows: Int = 10_000
    @Option(parsing: .unconditional, help: "Dimension.") var dim: Int = 32
    @Option(parsing: .unconditional, help: "Seed.") var seed: UInt64 = 42
    @Option(parsing: .unconditional, help: "Gaussian-mixture components (0 = plain standard normal).") var clusters: Int = 0
    @Option(help: "Output .npy file.") var out: String

    func run() throws {
        guard rows >= 1, dim >= 1, clusters >= 0 else {
            throw CLIError.usage("--rows and --dim must be ≥ 1 and --clusters ≥ 0")
        }
        let m = SyntheticVectors.make(rows: rows, dim: dim, seed: seed, clusters: clusters)
        do { try NPY.write(m, to: out) } catch { throw CLIError.runtime("\(error)") }
        print("wrote \(rows) × \(dim) float32 to \(out)")
    }
}
