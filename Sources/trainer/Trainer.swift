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
                      SynthVectorsCommand.self, DemoCommand.self, ParquetCommand.self, VectorizeCommand.self, SynthCommand.self, TrainCommand.self, WorkerCommand.self]
    )

    /// Runs a subcommand and maps errors to the documented exit codes:
    /// 0 success, 1 runtime failure, 2 usage error, 3 input data error.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as CLIError {
            FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
            Foundation.exit(e.exitCode)
        } catch let e as HNSWError {
            let mapped = CLIError(e)
            FileHandle.standardError.write(Data("error: \(mapped.message)\n".utf8))
            Foundation.exit(mapped.exitCode)
        } catch let e as NPYError {
            FileHandle.standardError.write(Data("error: \(e)\n".utf8))
            Foundation.exit(3)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                exit(withError: error)
            }
            FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
