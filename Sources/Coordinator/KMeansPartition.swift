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

    /// The one centroid of a one-shard plan: the mean of every row as compared (normalised for
    /// cosine), summed in Double; zeros when there are no rows.
    static func mean(rows: UnsafeBufferPointer<Float>, dim: Int, space: Space) -> [Float] {
        let n = rows.count / dim
        var sums = [Double](repeating: 0, count: dim)
        guard n > 0, let src = rows.baseAddress else { return [Float](repeating: 0, count: dim) }
        var row = [Float](repeating: 0, count: dim)
        row.withUnsafeMutableBufferPointer { r in
            guard let out = r.baseAddress else { return }
            for i in 0..<n {
                out.update(from: src + i * dim, count: dim)
                if space == .cosine { Distance.normalize(out, dim: dim) }
                for k in 0..<dim { sums[k] += Double(out[k]) }
            }
        }
        return sums.map { Float($0 / Double(n)) }
    }

    public static func make(rows: UnsafeBufferPointer<Float>, dim: Int, space: Space, shards S: Int, seed: UInt64,
                            epsilon: Double, maxCross: Int = 3, capFactor: Double = 1.2, sampleSize: Int = 50_000,
                            iterations: Int = 12, threads: Int = 1) -> KMeansPartition {
        let n = rows.count / dim
        guard S > 1 else {
            return KMeansPartition(centroids: mean(rows: rows, dim: dim, space: space), shards: [Array(0..<n)],
                                   boundary: [[UInt32]](repeating: [], count: n))
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
        order = []
        // The sample's rows as compared (normalised for cosine), in sample order; every other row
        // is normalised as it is measured, so no copy of the whole matrix is made.
        var samplePoints = [Float](repeating: 0, count: m * dim)
        samplePoints.withUnsafeMutableBufferPointer { sp in
            guard let out = sp.baseAddress, let src = rows.baseAddress else { return }
            for (j, r) in sample.enumerated() {
                (out + j * dim).update(from: src + r * dim, count: dim)
                if space == .cosine { Distance.normalize(out + j * dim, dim: dim) }
            }
        }
        var centroids = [Float](repeating: 0, count: S * dim)
        samplePoints.withUnsafeBufferPointer { p in
            let P = p.baseAddress!
            // k-means++ seeding (`chosen` is a position in the sample).
            var best = [Float](repeating: .infinity, count: m)
            var chosen = Int(rng.next() % UInt64(m))
            for c in 0..<S {
                for k in 0..<dim { centroids[c * dim + k] = P[chosen * dim + k] }
                if c == S - 1 { break }
                var total = 0.0
                centroids.withUnsafeBufferPointer { C in
                    for j in 0..<m {
                        best[j] = min(best[j], Distance.between(P + j * dim, C.baseAddress! + c * dim, dim: dim, space: .l2))
                        total += Double(best[j])
                    }
                }
                var target = Double(rng.next() >> 11) * 0x1p-53 * total
                chosen = m - 1
                for j in 0..<m {
                    target -= Double(best[j])
                    if target <= 0 { chosen = j; break }
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
                                    let d = Distance.between(P + j * dim, C.baseAddress! + c * dim, dim: dim, space: .l2)
                                    if d < bd { bd = d; bc = c }
                                }
                                out.value[j] = bc
                            }
                        }
                    }
                }
                var sums = [Double](repeating: 0, count: S * dim)
                var counts = [Int](repeating: 0, count: S)
                for j in 0..<m {
                    let c = assign[j]
                    counts[c] += 1
                    for k in 0..<dim { sums[c * dim + k] += Double(P[j * dim + k]) }
                }
                for c in 0..<S {
                    if counts[c] == 0 {
                        // An empty cluster restarts at a sample row chosen by the seed.
                        let j = Int(rng.next() % UInt64(m))
                        for k in 0..<dim { centroids[c * dim + k] = P[j * dim + k] }
                    } else {
                        for k in 0..<dim { centroids[c * dim + k] = Float(sums[c * dim + k] / Double(counts[c])) }
                    }
                }
            }
        }
        // Distances of every row to every centroid (as L2, not squared), then the capped assignment.
        var dist = [Float](repeating: 0, count: n * S)
        centroids.withUnsafeBufferPointer { C in
            dist.withUnsafeMutableBufferPointer { D in
                guard let src = rows.baseAddress else { return }
                let out = Parallel.Unchecked(D.baseAddress!)
                Parallel.forEach(count: n, threads: threads, grain: 256) { range, _ in
                    var row = [Float](repeating: 0, count: dim)
                    row.withUnsafeMutableBufferPointer { rp in
                        guard let r = rp.baseAddress else { return }
                        for i in range {
                            r.update(from: src + i * dim, count: dim)
                            if space == .cosine { Distance.normalize(r, dim: dim) }
                            for c in 0..<S {
                                out.value[i * S + c] = Distance.between(r, C.baseAddress! + c * dim, dim: dim, space: .l2).squareRoot()
                            }
                        }
                    }
                }
            }
        }
        // Shards are ranked nearest first, ties to the lower shard. Rows need only their two nearest,
        // the nearest with room, and the few within (1 + ε) of their own, so no row keeps a ranking:
        // an array per row would be ten million small allocations at 10M.
        func closer(_ i: Int, _ a: Int, _ b: Int) -> Bool { dist[i * S + a] < dist[i * S + b] || (dist[i * S + a] == dist[i * S + b] && a < b) }
        let cap = Int((capFactor * Double(n) / Double(S)).rounded(.up))
        var nearest = [Int32](repeating: 0, count: n)
        var regret = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var first = 0, second = 1
            if closer(i, second, first) { swap(&first, &second) }
            for c in 2..<S {
                if closer(i, c, first) { second = first; first = c } else if closer(i, c, second) { second = c }
            }
            nearest[i] = Int32(first)
            regret[i] = dist[i * S + second] - dist[i * S + first]
        }
        let byRegret = (0..<n).sorted { regret[$0] > regret[$1] || (regret[$0] == regret[$1] && $0 < $1) }
        regret = []
        var size = [Int](repeating: 0, count: S)
        var shardOf = [Int](repeating: 0, count: n)
        var ranked = Array(0..<S)
        for i in byRegret {
            var c = Int(nearest[i])
            if size[c] >= cap {
                for k in 0..<S { ranked[k] = k }
                ranked.sort { closer(i, $0, $1) }
                c = ranked.first { size[$0] < cap } ?? ranked[0]
            }
            shardOf[i] = c
            size[c] += 1
        }
        nearest = []
        var shards = [[Int]](repeating: [], count: S)
        for c in 0..<S { shards[c].reserveCapacity(size[c]) }
        for i in 0..<n { shards[shardOf[i]].append(i) }
        var boundary = [[UInt32]](repeating: [], count: n)
        let limit = Float(1 + epsilon)
        for i in 0..<n {
            // The other shards within (1 + ε) of the own one, nearest first, at most maxCross.
            let own = dist[i * S + shardOf[i]]
            var near: [Int] = []
            for c in 0..<S where c != shardOf[i] && dist[i * S + c] <= limit * own { near.append(c) }
            guard !near.isEmpty else { continue }
            near.sort { closer(i, $0, $1) }
            boundary[i] = near.prefix(maxCross).map { UInt32($0) }
        }
        return KMeansPartition(centroids: centroids, shards: shards, boundary: boundary)
    }
}
