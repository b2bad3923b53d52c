import CKernels

/// Brute-force k-nearest-neighbour search, the ground truth for recall. Vectors are scanned in
/// cache-sized blocks against tiles of 16 queries (`hk_distances_tile16`), so a large matrix is
/// streamed from memory once per 64 queries.
public enum ExactSearch {
    /// The labels (row numbers) of the k nearest rows of `base` for each query, closest first.
    /// Rows and queries are row-major with `dim` floats each; cosine normalises both.
    public static func knn(base: UnsafeBufferPointer<Float>, queries: UnsafeBufferPointer<Float>, dim: Int,
                           k: Int, space: Space, threads: Int) -> [[Int]] {
        nearest(base: base, queries: queries, dim: dim, k: k, space: space, threads: threads).map { $0.map { Int($0.label) } }
    }

    /// The k nearest rows of `base` for each query with their distances (1 − cosine for cosine, as
    /// the index measures, up to the last bits), closest first; `label` is the row number. At the
    /// k-th place, of equal distances the lower row is kept.
    public static func nearest(base: UnsafeBufferPointer<Float>, queries: UnsafeBufferPointer<Float>, dim: Int,
                               k: Int, space: Space, threads: Int) -> [[Neighbor]] {
        let n = base.count / dim
        let nq = queries.count / dim
        let kk = min(k, n)
        // Cosine normalises the queries once and each block of base rows as it is streamed (a
        // whole normalised copy of the base would cost as much memory as the vectors themselves).
        var normQueries: [Float] = []
        var q = queries
        if space == .cosine {
            normQueries = Array(queries)
            normQueries.withUnsafeMutableBufferPointer { p in
                guard let base = p.baseAddress else { return }
                for i in 0..<nq { Distance.normalize(base + i * dim, dim: dim) }
            }
        }
        var out = [[Neighbor]](repeating: [], count: nq)
        guard kk > 0, base.baseAddress != nil else { return out }
        let normalise = space == .cosine
        do {
            normQueries.withUnsafeBufferPointer { nqp in
                if normalise { q = nqp }
                let b = base
                let bP = Parallel.Unchecked(b.baseAddress!), qP = Parallel.Unchecked(q.baseAddress!)
                out.withUnsafeMutableBufferPointer { o in
                    let oP = Parallel.Unchecked(o.baseAddress!)
                    // Each worker owns 64 queries (four tiles of 16) and streams the base in blocks
                    // that stay in cache while every tile is compared with them.
                    Parallel.forEach(count: nq, threads: threads, grain: 64) { range, _ in
                        let tiles = stride(from: range.lowerBound, to: range.upperBound, by: 16).map { $0..<min($0 + 16, range.upperBound) }
                        var transposed = [Float](repeating: 0, count: tiles.count * dim * 16)
                        for (t, tile) in tiles.enumerated() {
                            for (l, qi) in tile.enumerated() {
                                for j in 0..<dim { transposed[(t * dim + j) * 16 + l] = qP.value[qi * dim + j] }
                            }
                        }
                        var heaps = range.map { _ in MaxHeap(capacity: kk + 1) }
                        defer { heaps.forEach { $0.deallocate() } }
                        // Per tile lane: the k-th best distance so far (+∞ until k are kept, −∞ for
                        // an unused lane of the last tile, which then never matches).
                        var worst = [Float](repeating: -.infinity, count: tiles.count * 16)
                        for (t, tile) in tiles.enumerated() { for l in 0..<tile.count { worst[t * 16 + l] = .infinity } }
                        let block = 1024
                        var dists = [Float](repeating: 0, count: block * 16)
                        var masks = [UInt16](repeating: 0, count: block)
                        let normalised: UnsafeMutablePointer<Float>? = normalise ? .allocate(capacity: block * dim) : nil
                        defer { normalised?.deallocate() }
                        let kind = space.kernelKind
                        var start = 0
                        while start < n {
                            let end = min(start + block, n)
                            var rows = bP.value + start * dim
                            if let nb = normalised {
                                nb.update(from: rows, count: (end - start) * dim)
                                for r in 0..<(end - start) { Distance.normalize(nb + r * dim, dim: dim) }
                                rows = UnsafePointer(nb)
                            }
                            for (t, tile) in tiles.enumerated() {
                                transposed.withUnsafeBufferPointer { qt in
                                    worst.withUnsafeBufferPointer { w in
                                        dists.withUnsafeMutableBufferPointer { dp in
                                            masks.withUnsafeMutableBufferPointer { mp in
                                                hk_distances_tile16(kind, qt.baseAddress! + t * dim * 16, rows, end - start, dim,
                                                                    w.baseAddress! + t * 16, dp.baseAddress!, mp.baseAddress!)
                                            }
                                        }
                                    }
                                }
                                let first = tile.lowerBound - range.lowerBound
                                for r in 0..<(end - start) where masks[r] != 0 {
                                    var m = masks[r]
                                    while m != 0 {
                                        let l = m.trailingZeroBitCount
                                        m &= m - 1
                                        let d = dists[r * 16 + l]
                                        // Rows arrive in order and only a strictly smaller distance
                                        // displaces the worst kept one: ties keep the lower row.
                                        guard d < worst[t * 16 + l] else { continue }
                                        let h = first + l
                                        if heaps[h].count == kk { heaps[h].pop() }
                                        heaps[h].push(d, UInt32(start + r))
                                        if heaps[h].count == kk { worst[t * 16 + l] = heaps[h].top.distance }
                                    }
                                }
                            }
                            start = end
                        }
                        for (h, qi) in range.enumerated() {
                            var heap = heaps[h]
                            var ids = [Neighbor](repeating: Neighbor(label: 0, distance: 0), count: heap.count)
                            var i = heap.count - 1
                            while !heap.isEmpty {
                                let e = heap.pop()
                                ids[i] = Neighbor(label: UInt64(e.id), distance: e.distance)
                                i -= 1
                            }
                            heaps[h] = heap
                            (oP.value + qi).pointee = ids
                        }
                    }
                }
            }
        }
        return out
    }

    /// Recall: the share of each truth row (row numbers = labels) found in the matching result row.
    public static func recall(_ found: [[Neighbor]], truth: [[Int]]) -> Double {
        var hits = 0, total = 0
        for (i, r) in found.enumerated() {
            let want = Set(truth[i])
            hits += r.filter { want.contains(Int($0.label)) }.count
            total += truth[i].count
        }
        return Double(hits) / Double(max(total, 1))
    }
}
