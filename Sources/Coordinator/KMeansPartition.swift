import HNSW

/// Balanced k-means partitioning: centroids from Lloyd iterations on a seeded sample, then every
/// row assigned to the nearest centroid that still has room (rows with the most to lose go first),
/// with a cap of ⌈capFactor · N / S⌉ rows per shard. Cosine rows are compared after normalising.
/// Everything is a function of the rows, S and the seed.
public struct KMeansPartition: Sendable {
    public var centroids: [Float]
    /// Row indices of each shard, ascending.
    public var shards: [[Int]]
    /// For each row, the other shards whose centroid is within (1 + ε) of its own shard's centroid,
    /// nearest first (at most `maxCross`).
    public var boundary: [[UInt32]]

    public static func make(rows: UnsafeBufferPointer<Float>, dim: Int, space: Space, shards S: Int, seed: UInt64,
                            epsilon: Double, maxCross: Int = 3, capFactor: Double = 1.2, sampleSize: Int = 50_000,
                            iterations: Int = 12, threads: Int = 1) -> KMeansPartition {
        let n = rows.count / dim
        guard S > 1 else {
            return KMeansPartition(centroids: [Float](repeating: 0, count: dim * max(S, 1)), shards: [Array(0..<n)],
                                   boundary: [[UInt32]](repeating: [], count: n))
        }
        // Rows as compared: normalised for cosine.
        var points = Array(rows)
        if space == .cosine {
            points.withUnsafeMutableBufferPointer { p in
                for i in 0..<n { Distance.normalize(p.baseAddress! + i * dim, dim: dim) }
            }
        }
        var rng = SplitMix64(seed: seed ^ 0x6B6D_6561_6E73)
        // A seeded sample without replacement (partial Fisher–Yates).
        let m = min(n, max(sampleSize, S * 32))
        var order = Array(0..<n)
        for i in 0..<m {
            let j = i + Int(rng.next() % UInt64(n - i))
            order.swapAt(i, j)
        }
        let sample = Array(order[0..<m]).sorted()
        var centroids = [Float](repeating: 0, count: S * dim)
        points.withUnsafeBufferPointer { p in
            let P = p.baseAddress!
            // k-means++ seeding.
            var best = [Float](repeating: .infinity, count: m)
            var chosen = sample[Int(rng.next() % UInt64(m))]
            for c in 0..<S {
                for k in 0..<dim { centroids[c * dim + k] = P[chosen * dim + k] }
                if c == S - 1 { break }
                var total = 0.0
                centroids.withUnsafeBufferPointer { C in
                    for (j, r) in sample.enumerated() {
                        best[j] = min(best[j], Distance.between(P + r * dim, C.baseAddress! + c * dim, dim: dim, space: .l2))
                        total += Double(best[j])
                    }
                }
                var target = Double(rng.next() >> 11) * 0x1p-53 * total
                chosen = sample[m - 1]
                for (j, r) in sample.enumerated() {
                    target -= Double(best[j])
                    if target <= 0 { chosen = r; break }
                }
            }
            // Lloyd iterations on the sample.
            var assign = [Int](repeating: 0, count: m)
            for _ in 0..<iterations {
                centroids.withUnsafeBufferPointer { C in
                    assign.withUnsafeMutableBufferPointer { A in
                        let out = Parallel.Unchecked(A.baseAddress!)
                        Parallel.forEach(count: m, threads: threads, grain: 256) { range, _ in
                            for j in range {
                                var bc = 0
                                var bd = Float.infinity
                                for c in 0..<S {
                                    let d = Distance.between(P + sample[j] * dim, C.baseAddress! + c * dim, dim: dim, space: .l2)
                                    if d < bd { bd = d; bc = c }
                                }
                                out.value[j] = bc
                            }
                        }
                    }
                }
                var sums = [Double](repeating: 0, count: S * dim)
                var counts = [Int](repeating: 0, count: S)
                for (j, r) in sample.enumerated() {
                    let c = assign[j]
                    counts[c] += 1
                    for k in 0..<dim { sums[c * dim + k] += Double(P[r * dim + k]) }
                }
                for c in 0..<S {
                    if counts[c] == 0 {
                        // An empty cluster restarts at a sample row chosen by the seed.
                        let r = sample[Int(rng.next() % UInt64(m))]
                        for k in 0..<dim { centroids[c * dim + k] = P[r * dim + k] }
                    } else {
                        for k in 0..<dim { centroids[c * dim + k] = Float(sums[c * dim + k] / Double(counts[c])) }
                    }
                }
            }
        }
        // Distances of every row to every centroid (as L2, not squared), then the capped assignment.
        var dist = [Float](repeating: 0, count: n * S)
        points.withUnsafeBufferPointer { p in
            centroids.withUnsafeBufferPointer { C in
                dist.withUnsafeMutableBufferPointer { D in
                    let out = Parallel.Unchecked(D.baseAddress!)
                    Parallel.forEach(count: n, threads: threads, grain: 256) { range, _ in
                        for i in range {
                            for c in 0..<S {
                                out.value[i * S + c] = Distance.between(p.baseAddress! + i * dim, C.baseAddress! + c * dim, dim: dim, space: .l2).squareRoot()
                            }
                        }
                    }
                }
            }
        }
        let cap = Int((capFactor * Double(n) / Double(S)).rounded(.up))
        var ranked = [[Int]](repeating: [], count: n)
        var regret = [Float](repeating: 0, count: n)
        for i in 0..<n {
            let r = (0..<S).sorted { dist[i * S + $0] < dist[i * S + $1] || (dist[i * S + $0] == dist[i * S + $1] && $0 < $1) }
            ranked[i] = r
            regret[i] = dist[i * S + r[1]] - dist[i * S + r[0]]
        }
        let byRegret = (0..<n).sorted { regret[$0] > regret[$1] || (regret[$0] == regret[$1] && $0 < $1) }
        var size = [Int](repeating: 0, count: S)
        var shardOf = [Int](repeating: 0, count: n)
        for i in byRegret {
            let c = ranked[i].first { size[$0] < cap } ?? ranked[i][0]
            shardOf[i] = c
            size[c] += 1
        }
        var shards = [[Int]](repeating: [], count: S)
        for i in 0..<n { shards[shardOf[i]].append(i) }
        var boundary = [[UInt32]](repeating: [], count: n)
        let limit = Float(1 + epsilon)
        for i in 0..<n {
            let own = dist[i * S + shardOf[i]]
            var near: [UInt32] = []
            for c in ranked[i] where c != shardOf[i] && near.count < maxCross {
                if dist[i * S + c] <= limit * own { near.append(UInt32(c)) } else { break }
            }
            boundary[i] = near
        }
        return KMeansPartition(centroids: centroids, shards: shards, boundary: boundary)
    }
}

/// The seeded generator of the partitioning (SplitMix64).
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
