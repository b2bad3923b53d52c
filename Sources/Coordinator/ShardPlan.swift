import Crypto
import Foundation
import HNSW
import Shared

/// How the rows are split into shards, which elements are refined against which other shards, and
/// the identity of the whole build (inputs, parameters, shard count) that a resumed run must match.
public struct ShardPlan: Sendable {
    /// Row indices of each shard, ascending.
    public var shards: [[Int]]
    /// S × dim k-means centroids (in the space the rows are compared in).
    public var centroids: [Float]
    /// Per shard: (local id, shards to search) of its boundary elements, ascending by local id.
    public var boundary: [[(UInt32, [UInt32])]]
    /// SHA-256 over the rows, labels, index and refinement parameters and the shard count.
    public var fingerprint: String

    public static func make(rows: UnsafeBufferPointer<Float>, labels: [UInt64], shards S: Int, parameters: IndexParameters,
                            refine: RefineSettings, threads: Int) -> ShardPlan {
        let n = labels.count
        let p = KMeansPartition.make(rows: rows, dim: parameters.dim, space: parameters.space, shards: S, seed: parameters.seed,
                                     epsilon: refine.epsilon, maxCross: refine.maxCross, threads: threads)
        var boundary = [[(UInt32, [UInt32])]](repeating: [], count: S)
        for (s, members) in p.shards.enumerated() {
            for (j, r) in members.enumerated() where !p.boundary[r].isEmpty { boundary[s].append((UInt32(j), p.boundary[r])) }
        }
        var h = SHA256()
        h.update(data: Array("rct-shard-plan-v2|\(parameters.description)|\(refine)|S=\(S)|n=\(n)".utf8))
        labels.withUnsafeBytes { h.update(bufferPointer: $0) }
        h.update(bufferPointer: UnsafeRawBufferPointer(rows))
        let digest = h.finalize().map { String(format: "%02x", $0) }.joined()
        return ShardPlan(shards: p.shards, centroids: p.centroids, boundary: boundary, fingerprint: digest)
    }

    /// Elements refined in phase 2.
    public var boundaryCount: Int { boundary.reduce(0) { $0 + $1.count } }
}

/// Phase-2 settings: which elements are refined and how hard their cross-shard searches are.
public struct RefineSettings: Sendable, Equatable, CustomStringConvertible {
    /// An element is refined against every other shard whose centroid is within (1 + ε) of its own's.
    public var epsilon: Double
    /// At most this many other shards per element.
    public var maxCross: Int
    public var crossK: Int
    public var crossEf: Int

    public init(epsilon: Double = RefineDefaults.epsilon, maxCross: Int = RefineDefaults.maxShards,
                crossK: Int = RefineDefaults.k, crossEf: Int = RefineDefaults.ef) {
        self.epsilon = epsilon
        self.maxCross = maxCross
        self.crossK = crossK
        self.crossEf = crossEf
    }

    public var description: String { "eps=\(epsilon) maxCross=\(maxCross) k=\(crossK) ef=\(crossEf)" }
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
