import Crypto
import Foundation
import HNSW

/// How the rows are split into shards, and the identity of the whole build (inputs, parameters,
/// shard count) that a resumed run must match.
public struct ShardPlan: Sendable, Equatable {
    /// Row indices of each shard, ascending.
    public var shards: [[Int]]
    /// SHA-256 over the rows, labels, index parameters and the shard layout.
    public var fingerprint: String

    /// Strided assignment (row i goes to shard i mod S): balanced, and a function of the row order only.
    public static func make(rows: UnsafeBufferPointer<Float>, labels: [UInt64], shards S: Int, parameters: IndexParameters) -> ShardPlan {
        let n = labels.count
        let shards = (0..<S).map { s in Array(stride(from: s, to: n, by: S)) }
        var h = SHA256()
        h.update(data: Array("rct-shard-plan-v1|\(parameters.description)|S=\(S)|n=\(n)".utf8))
        labels.withUnsafeBytes { h.update(bufferPointer: $0) }
        h.update(bufferPointer: UnsafeRawBufferPointer(rows))
        let digest = h.finalize().map { String(format: "%02x", $0) }.joined()
        return ShardPlan(shards: shards, fingerprint: digest)
    }
}

/// The index parameters every shard build and the merge use.
public struct IndexParameters: Sendable, Equatable, CustomStringConvertible {
    public var space: Space
    public var dim: Int
    public var M: Int
    public var efConstruction: Int
    public var seed: UInt64
    public var batchSize: Int

    public init(space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64, batchSize: Int = 128) {
        self.space = space
        self.dim = dim
        self.M = M
        self.efConstruction = efConstruction
        self.seed = seed
        self.batchSize = batchSize
    }

    public var description: String { "space=\(space.rawValue) dim=\(dim) M=\(M) efC=\(efConstruction) seed=\(seed) batch=\(batchSize)" }
}
