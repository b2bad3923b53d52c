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
        guard let b = base.baseAddress else { return [[Neighbor]](repeating: [], count: queries.count / max(dim, 1)) }
        // Cosine normalises each block of base rows as it is streamed (a whole normalised copy of
        // the base would cost as much memory as the vectors themselves).
        let rows = Parallel.Unchecked(b)
        let normalise = space == .cosine
        return scan(count: base.count / dim, queries: queries, dim: dim, k: k, space: space, threads: threads) { start, end, buffer in
            let first = rows.value + start * dim
            guard normalise else { return first }
            buffer.update(from: first, count: (end - start) * dim)
            for r in 0..<(end - start) { Distance.normalize(buffer + r * dim, dim: dim) }
            return UnsafePointer(buffer)
        }
    }

    /// `nearest` over the vectors `index` stores: row r of the base is the vector of `labels[r]`
    /// (normalised for cosine, as the index keeps it), so the results equal `nearest` over those
    /// labels' rows without a copy of them. `label` in the results is the row number.
    public static func nearest(in index: HNSWIndex, labels: [UInt64], queries: UnsafeBufferPointer<Float>, k: Int,
                               threads: Int) throws -> [[Neighbor]] {
        var ids = [UInt32]()
        ids.reserveCapacity(labels.count)
        for l in labels {
            guard let id = index.labelToID[l] else { throw HNSWError.labelNotFound(l) }
            ids.append(id)
        }
        let dim = index.dim
        return ids.withUnsafeBufferPointer { idp in
            let order = Parallel.Unchecked(idp)
            return scan(count: ids.count, queries: queries, dim: dim, k: k, space: index.space, threads: threads) { start, end, buffer in
                for r in start..<end { (buffer + (r - start) * dim).update(from: index.vector(order.value[r]), count: dim) }
                return UnsafePointer(buffer)
            }
        }
    }

    /// The scan behind both searches: `block(start, end, buffer)` returns rows start..<end of the
    /// base, contiguous and ready to compare (normalised for cosine), either in place or written
    /// into `buffer` (room for 1,024 rows). It is called concurrently with a buffer per worker.
    static func scan(count n: Int, queries: UnsafeBufferPointer<Float>, dim: Int, k: Int, space: Space, threads: Int,
                     block rowsOf: (Int, Int, UnsafeMutablePointer<Float>) -> UnsafePointer<Float>) -> [[Neighbor]] {
        let nq = queries.count / dim
        let kk = min(k, n)
        var out = [[Neighbor]](repeating: [], count: nq)
        guard kk > 0, nq > 0 else { return out }
        var q = Array(queries)
        if space == .cosine {
            q.withUnsafeMutableBufferPointer { p in
                for i in 0..<nq { Distance.normalize(p.baseAddress.unsafelyUnwrapped + i * dim, dim: dim) }
            }
        }
        let kind = space.kernelKind
        q.withUnsafeBufferPointer { qb in
            let qP = Parallel.Unchecked(qb.baseAddress.unsafelyUnwrapped)
            out.withUnsafeMutableBufferPointer { o in
                let oP = Parallel.Unchecked(o.baseAddress.unsafelyUnwrapped)
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
                    let buffer = UnsafeMutablePointer<Float>.allocate(capacity: block * dim)
                    defer { buffer.deallocate() }
                    var start = 0
                    while start < n {
                        let end = min(start + block, n)
                        let rows = rowsOf(start, end, buffer)
                        for (t, tile) in tiles.enumerated() {
                            transposed.withUnsafeBufferPointer { qt in
                                worst.withUnsafeBufferPointer { w in
                                    dists.withUnsafeMutableBufferPointer { dp in
                                        masks.withUnsafeMutableBufferPointer { mp in
                                            hk_distances_tile16(kind, qt.baseAddress.unsafelyUnwrapped + t * dim * 16, rows, end - start, dim,
                                                                w.baseAddress.unsafelyUnwrapped + t * 16, dp.baseAddress.unsafelyUnwrapped,
                                                                mp.baseAddress.unsafelyUnwrapped)
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
