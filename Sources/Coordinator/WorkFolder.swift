import Foundation
import HNSW
import Shared

/// The coordinator's work folder: the plan fingerprint and every completed shard graph, each
/// written atomically, so that `--resume` after a crash redoes only the shards that were lost.
public struct WorkFolder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    var planPath: String { path + "/plan.txt" }
    func shardPath(_ s: Int) -> String { path + "/shard-\(String(format: "%05d", s)).graph" }
    func refinePath(_ s: Int) -> String { path + "/refine-\(String(format: "%05d", s)).msg" }

    /// What a resumed run finds: shard graphs and refinement messages, by shard.
    public struct Saved: Sendable {
        public var graphs: [Int: [UInt8]] = [:]
        public var refined: [Int: RefineOutput] = [:]
        public init() {}
    }

    /// Starts afresh: removes earlier shard results and records the plan.
    public func start(_ plan: ShardPlan) throws {
        try? FileManager.default.removeItem(atPath: path)
        try create()
        try FileIO.writeAtomically(Array(plan.fingerprint.utf8), to: planPath)
    }

    private func create() throws {
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw CoordinatorError.workFolder(path: path, reason: "cannot create it: \(error.localizedDescription)")
        }
    }

    /// Checks the folder belongs to the same plan and returns the shard results it holds.
    public func resume(_ plan: ShardPlan, largeCap: Int) throws -> Saved {
        guard let data = FileManager.default.contents(atPath: planPath) else {
            throw CoordinatorError.workFolder(path: path, reason: "there is no earlier run to resume (no plan.txt); run without --resume")
        }
        guard String(decoding: data, as: UTF8.self) == plan.fingerprint else {
            throw CoordinatorError.workFolder(path: path,
                reason: "it belongs to a different build (other inputs, parameters or shard count); run without --resume to start afresh")
        }
        var found = Saved()
        for s in plan.shards.indices {
            if let bytes = FileManager.default.contents(atPath: shardPath(s)) { found.graphs[s] = [UInt8](bytes) }
            // A refinement is kept as the message that brought it, checksum included.
            if let bytes = FileManager.default.contents(atPath: refinePath(s)),
               case .refined(let r)? = try? WireMessage.decode([UInt8](bytes), largeCap: largeCap), Int(r.shard) == s {
                found.refined[s] = r.output
            }
        }
        return found
    }

    public func storeRefined(shard: Int, message: [UInt8]) throws {
        try FileIO.writeAtomically(message, to: refinePath(shard))
    }

    public func store(shard: Int, graph: [UInt8]) throws {
        try FileIO.writeAtomically(graph, to: shardPath(shard))
    }

    public func discard(shard: Int) { try? FileManager.default.removeItem(atPath: shardPath(shard)) }

    public func remove() { try? FileManager.default.removeItem(atPath: path) }
}
