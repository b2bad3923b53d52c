import CKernels

/// One search hit.
public struct Neighbor: Equatable, Sendable {
    public var label: UInt64
    public var distance: Float
    public init(label: UInt64, distance: Float) {
        self.label = label
        self.distance = distance
    }
}

extension HNSWIndex {
    /// Greedy descent from `ep` through layers `top` … `stop + 1`, moving to the closest neighbour
    /// while it improves (hnswlib's upper-layer routine).
    func greedyDescent(_ q: UnsafePointer<Float>, from ep: UInt32, top: Int, downTo stop: Int,
                       scratch s: SearchScratch) -> UInt32 {
        var cur = ep
        var curDist = distance(q, ep)
        var layer = top
        let ids = s.ids, dists = s.dists
        while layer > stop {
            var changed = true
            while changed {
                changed = false
                let list = links(cur, layer)
                let n = linkCount(list)
                ids.update(from: list + 1, count: n)
                hk_distances(kind, q, vectorBase.assumingMemoryBound(to: CChar.self), stride, ids, n, dim, dists)
                for j in 0..<n where dists[j] < curDist {
                    curDist = dists[j]
                    cur = ids[j]
                    changed = true
                }
            }
            layer -= 1
        }
        return cur
    }

    /// Beam search on one layer from `ep`. Leaves up to `ef` closest non-deleted elements in `s.top`
    /// (a max-heap). Deleted elements are traversed but never returned.
    func searchLayer(_ q: UnsafePointer<Float>, entry ep: UInt32, layer: Int, ef: Int,
                     scratch s: SearchScratch) {
        let tag = s.beginVisit(elements: count)
        let visited = s.visited
        var top = s.top
        var cand = s.candidates
        top.removeAll()
        cand.removeAll()
        defer {
            s.top = top
            s.candidates = cand
        }
        let base = vectorBase.assumingMemoryBound(to: CChar.self)
        let ids = s.ids, dists = s.dists
        let d0 = distance(q, ep)
        var lowerBound: Float
        if !isDeleted(ep) {
            top.push(d0, ep)
            lowerBound = d0
        } else {
            lowerBound = .greatestFiniteMagnitude
        }
        cand.push(-d0, ep)
        visited[Int(ep)] = tag
        let checkDeleted = deletedCount > 0
        let listBytes = (layer == 0 ? maxM0 : maxM) * 4 + 4
        while !cand.isEmpty {
            let c = cand.top
            if -c.distance > lowerBound && top.count >= ef { break }
            cand.pop()
            // Fetch the next candidate's list while this one is processed.
            if !cand.isEmpty { hk_prefetch(links(cand.top.id, layer), listBytes) }
            let list = links(c.id, layer)
            let n = linkCount(list)
            hk_prefetch_tags(visited, list + 1, n)
            var m = 0
            var j = 1
            while j <= n {
                let x = list[j]
                if visited[Int(x)] != tag {
                    visited[Int(x)] = tag
                    ids[m] = x
                    m += 1
                }
                j += 1
            }
            if m == 0 { continue }
            hk_distances(kind, q, base, stride, ids, m, dim, dists)
            for j in 0..<m {
                let d = dists[j]
                if top.count < ef || d < lowerBound {
                    let x = ids[j]
                    cand.push(-d, x)
                    if !checkDeleted || !isDeleted(x) {
                        top.push(d, x)
                        if top.count > ef { top.pop() }
                    }
                    if !top.isEmpty { lowerBound = top.top.distance }
                }
            }
        }
    }

    /// Prepares a query in the scratch buffer (normalised for cosine).
    func loadQuery(_ q: UnsafePointer<Float>, into s: SearchScratch) -> UnsafePointer<Float> {
        s.query.update(from: q, count: dim)
        if space == .cosine { Distance.normalize(s.query, dim: dim) }
        return UnsafePointer(s.query)
    }

    /// The k nearest internal ids to a prepared query, closest first.
    func nearest(_ q: UnsafePointer<Float>, k: Int, ef: Int, scratch s: SearchScratch) -> [Candidate] {
        guard let ep = entryPoint else { return [] }
        let start = greedyDescent(q, from: ep, top: maxLevel, downTo: 0, scratch: s)
        searchLayer(q, entry: start, layer: 0, ef: max(ef, k), scratch: s)
        var top = s.top
        while top.count > k { top.pop() }
        var out = [Candidate](repeating: Candidate(distance: 0, id: 0), count: top.count)
        var i = top.count - 1
        while !top.isEmpty {
            out[i] = top.pop()
            i -= 1
        }
        s.top = top
        return out
    }

    /// k nearest from an already prepared query, closest first.
    func knn(_ q: UnsafePointer<Float>, k: Int, ef: Int, scratch s: SearchScratch) -> [Neighbor] {
        guard k > 0 else { return [] }
        return nearest(q, k: k, ef: ef, scratch: s).map { Neighbor(label: label(ofInternal: $0.id), distance: $0.distance) }
    }

    /// The k nearest non-deleted elements to `query`, closest first.
    /// - Parameter ef: beam width; defaults to the index's `ef`. The search uses max(ef, k).
    public func search(_ query: [Float], k: Int, ef: Int? = nil) throws -> [Neighbor] {
        guard query.count == dim else { throw HNSWError.dimensionMismatch(expected: dim, got: query.count) }
        guard k >= 1 else { throw HNSWError.invalidParameter("k must be ≥ 1, got \(k)") }
        return query.withUnsafeBufferPointer { qp in
            withScratch { s in
                knn(loadQuery(qp.baseAddress!, into: s), k: k, ef: ef ?? self.ef, scratch: s)
            }
        }
    }

    /// Searches many queries (row-major, `dim` floats each) on `threads` threads.
    /// Row i of the result holds up to k neighbours of query i, closest first.
    public func searchBatch(_ queries: UnsafeBufferPointer<Float>, k: Int, ef: Int? = nil, threads: Int) throws -> [[Neighbor]] {
        guard queries.count % dim == 0 else {
            throw HNSWError.dimensionMismatch(expected: dim, got: queries.count % dim)
        }
        guard k >= 1 else { throw HNSWError.invalidParameter("k must be ≥ 1, got \(k)") }
        let n = queries.count / dim
        let beam = ef ?? self.ef
        var results = [[Neighbor]](repeating: [], count: n)
        results.withUnsafeMutableBufferPointer { out in
            let outP = Parallel.Unchecked(out.baseAddress!)
            let qP = Parallel.Unchecked(queries.baseAddress!)
            let scratches = (0..<max(threads, 1)).map { _ in borrowScratch() }
            Parallel.forEach(count: n, threads: threads, grain: 16) { range, worker in
                let s = scratches[worker]
                for i in range {
                    let q = loadQuery(qP.value + i * dim, into: s)
                    (outP.value + i).pointee = knn(q, k: k, ef: beam, scratch: s)
                }
            }
            scratches.forEach(returnScratch)
        }
        return results
    }
}
