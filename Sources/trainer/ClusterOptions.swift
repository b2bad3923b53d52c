import ArgumentParser
import Coordinator
import Foundation
import HNSW
import Logging
import Shared

/// Cluster flags shared by `train` and `build-index`.
struct ClusterOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Build on this many local worker processes (overrides cluster.mode and cluster.workers).") var workers: Int?
    @Option(parsing: .unconditional,
            help: "Number of shards, or auto for one per \(ShardLimits.targetItemsPerShard) items (overrides cluster.shards). The output depends on it, never on --workers.")
    var shards: ShardCount?
    @Option(help: "Listen on this address for remote workers instead of starting local ones (overrides cluster.listen).") var listen: String?
    @Flag(help: "Continue a cluster build whose coordinator stopped: keep the shards already in the work folder.") var resume = false
    @Option(name: .customLong("token-file"), help: "File holding the cluster token, e.g. a mounted secret (overrides cluster.token_file and the token variable).")
    var tokenFile: String?

    func validate() throws {
        if let w = workers, w < 1 { throw ValidationError("--workers must be ≥ 1, got \(w)") }
        if workers != nil, listen != nil { throw ValidationError("give --workers (local workers) or --listen (remote workers), not both") }
    }
}

extension ShardCount: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
    public static var defaultCompletionKind: CompletionKind { .list(["auto"]) }
}

/// The running trainer binary, which local mode starts as its workers.
func trainerExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Maps coordinator and transport failures to exit codes (settings → 2, everything else → 1).
func clusterError(_ error: any Error) -> CLIError {
    switch error {
    case let e as CoordinatorError:
        if case .invalidSettings = e { return .usage("\(e)") }
        if case .shardTooLarge = e { return .usage("\(e)") }
        return .runtime("\(e)")
    case let e as HandshakeError: return .usage("\(e)")
    case let e as NNGError: return .runtime("cluster transport: \(e)")
    case let e as CLIError: return e
    case let e as HNSWError: return CLIError(e)
    default: return .runtime("\(error)")
    }
}
