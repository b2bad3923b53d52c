import ArgumentParser
import Foundation
import HNSW
import Shared

/// The thin command line over the libraries.
@main
struct Trainer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainer",
        abstract: "Builds hnswlib-compatible HNSW indexes of routing-candidate vectors.",
        subcommands: [BuildIndexCommand.self, QueryCommand.self, EvalCommand.self, InspectCommand.self,
                      SynthVectorsCommand.self, ParquetCommand.self, VectorizeCommand.self, SynthCommand.self, TrainCommand.self, WorkerCommand.self,
                      ReportCommand.self]
    )

    /// Runs a subcommand; every error leaves through `outcome(of:)`, the one exit-code table.
    static func main() {
        ProcessMemory.configureAllocator()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .success { exit(withError: error) }  // --help, --version
            let (code, message) = outcome(of: error)
            FileHandle.standardError.write(Data("error: \(message)\n".utf8))
            Foundation.exit(code)
        }
    }

    /// The exit code and message of every error the trainer can end with:
    /// 0 success, 1 runtime failure (writing, the cluster, the machine), 2 usage or configuration
    /// error (the command line, the YAML, a saved model that does not fit the configuration),
    /// 3 input data error (a Parquet, JSON, .npy or index file that is wrong), 4 a run over its
    /// quality limit (`quality.max_drift`; nothing committed).
    static func outcome(of error: any Error) -> (Int32, String) {
        switch error {
        case let e as CLIError: return (e.exitCode, e.message)
        case let e as ConfigError: return (2, "\(e)")
        case let e as ModelMismatch: return (2, e.message)
        case let e as InputError: return (3, e.message)
        case let e as NPYError: return (3, "\(e)")
        case let e as ParquetError: return (3, "\(e)")
        case let e as JSONInputError: return (3, "\(e)")
        case let e as ArtifactError: return (1, e.message)
        case let e as QualityGateError: return (4, e.message)
        case let e as HNSWError:
            let mapped = CLIError(e)
            return (mapped.exitCode, mapped.message)
        default:
            // Argument parsing and validate(): usage errors.
            return (2, fullMessage(for: error).replacingOccurrences(of: "Error: ", with: ""))
        }
    }
}
