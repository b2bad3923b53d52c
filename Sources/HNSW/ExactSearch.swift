import CKernels

/// Brute-force k-nearest-neighbour search, the ground truth for recall. Vectors are scanned in
/// cache-sized blocks against all queries, so a large matrix is streamed from memory once.
public enum ExactSearch {
    /// The labels (row numbers) of the k nearest rows of `base` for each query, closest first.
    /// Rows and queries are row-major with `dim` floats each; cosine normalises both.
    public static func knn(base: UnsafeBufferPointer<Float>, queries: UnsafeBufferPointer<Float>, dim: Int,
                           k: Int, space: Space, threads: Int) -> [[Int]] {
        nearest(base: base, queries: queries, dim: dim, k: k, space: space, threads: threads).map { $0.map { Int($0.label) } }
    }

    /// The k nearest rows of `base` for each query with their distances (the index's, so 1 − cosine
    /// for cosine), closest first; `label` is the row number. At the k-th place, of equal distances the lower row is kept.
    public static func nearest(base: UnsafeBufferPointer<Float>, queries: UnsafeBufferPointer<Float>, dim: Int,
                               k: Int, space: Space, threads: Int) -> [[Neighbor]] {
        let n = base.count / dim
        let nq = queries.count / dim
        let kk = min(k, n)
        var normBase: [Float] = []
        var normQueries: [Float] = []
        var b = base, q = queries
        if space == .cosine {
            normBase = Array(base)
            normQueries = Array(queries)
            normBase.withUnsafeMutableBufferPointer { p in
                for i in 0..<n { Distance.normalize(p.baseAddress! + i * dim, dim: dim) }
            }
            normQueries.withUnsafeMutableBufferPointer { p in
                for i in 0..<nq { Distance.normalize(p.baseAddress! + i * dim, dim: dim) }
            }
        }
        var out = [[Neighbor]](repeating: [], count: nq)
        normBase.withUnsafeBufferPointer { nb in
            normQueries.withUnsafeBufferPointer { nqp in
                if space == .cosine { b = nb; q = nqp }
                let bP = Parallel.Unchecked(b.baseAddress!), qP = Parallel.Unchecked(q.baseAddress!)
                out.withUnsafeMutableBufferPointer { o in
                    let oP = Parallel.Unchecked(o.baseAddress!)
                    // Each worker owns a slice of queries and streams the base in blocks.
                    Parallel.forEach(count: nq, threads: threads, grain: 64) { range, _ in
                        var heaps = range.map { _ in MaxHeap(capacity: kk + 1) }
                        defer { heaps.forEach { $0.deallocate() } }
                        let block = 2048
                        var start = 0
                        while start < n {
                            let end = min(start + block, n)
                            for (h, qi) in range.enumerated() {
                                let qv = qP.value + qi * dim
                                var heap = heaps[h]
                                for row in start..<end {
                                    let d = Distance.between(qv, bP.value + row * dim, dim: dim, space: space)
                                    if heap.count < kk { heap.push(d, UInt32(row)) } else if d < heap.top.distance {
                                        heap.pop()
                                        heap.push(d, UInt32(row))
                                    }
                                }
                                heaps[h] = heap
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
