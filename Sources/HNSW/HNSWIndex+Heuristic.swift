extension HNSWIndex {
    /// hnswlib's getNeighborsByHeuristic2: with fewer than K candidates keep them all; otherwise visit
    /// them closest-first and keep c unless a kept s has dist(s, c) < dist(c, base). No back-fill.
    /// `pool` must be sorted by ascending distance to the base element.
    func selectNeighbors(_ pool: [Candidate], K: Int, into out: inout [Candidate]) {
        out.removeAll(keepingCapacity: true)
        if pool.count < K {
            out.append(contentsOf: pool)
            return
        }
        for c in pool {
            if out.count >= K { break }
            let cv = vector(c.id)
            var good = true
            for s in out where distance(cv, s.id) < c.distance {
                good = false
                break
            }
            if good { out.append(c) }
        }
    }

    /// Moves the search result heap into `s.pool`, ascending by distance, leaving out `exclude`.
    func drainTop(_ s: SearchScratch, excluding exclude: UInt32? = nil) {
        s.pool.removeAll(keepingCapacity: true)
        var top = s.top
        while !top.isEmpty {
            let c = top.pop()
            if c.id != exclude { s.pool.append(c) }
        }
        s.top = top
        s.pool.reverse()
    }

    /// Writes `selected` as the list of `id` at `layer`, keeping the delete mark, zeroing the tail.
    func writeList(_ id: UInt32, layer: Int, _ selected: [Candidate]) {
        let list = links(id, layer)
        let c = cap(layer)
        setLinkCount(list, selected.count)
        for (j, n) in selected.enumerated() { list[1 + j] = n.id }
        if selected.count < c { (list + 1 + selected.count).update(repeating: 0, count: c - selected.count) }
    }

    /// Offers `sources` (new neighbours) to the list of `target` at `layer`: appended while there is
    /// room, otherwise the list is re-selected with the heuristic over old ∪ new, capped at maxM0/maxM.
    func offerLinks(to target: UInt32, layer: Int, sources: UnsafeBufferPointer<UInt32>, scratch s: SearchScratch) {
        let list = links(target, layer)
        let n = linkCount(list)
        let c = cap(layer)
        var fresh = 0
        for x in sources where x != target {
            var present = false
            for j in 0..<n where list[1 + j] == x {
                present = true
                break
            }
            if !present { fresh += 1 }
        }
        if fresh == 0 { return }
        if n + fresh <= c {
            var m = n
            for x in sources where x != target {
                var present = false
                for j in 0..<m where list[1 + j] == x {
                    present = true
                    break
                }
                if !present {
                    list[1 + m] = x
                    m += 1
                }
            }
            setLinkCount(list, m)
            return
        }
        let tv = vector(target)
        s.pool.removeAll(keepingCapacity: true)
        for j in 0..<n {
            let x = list[1 + j]
            s.pool.append(Candidate(distance: distance(tv, x), id: x))
        }
        for x in sources where x != target {
            var present = false
            for j in 0..<n where list[1 + j] == x {
                present = true
                break
            }
            if !present { s.pool.append(Candidate(distance: distance(tv, x), id: x)) }
        }
        s.pool.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
        selectNeighbors(s.pool, K: c, into: &s.selected)
        writeList(target, layer: layer, s.selected)
    }

    /// Offers `id` to the lists of the elements in `s.selected` (reverse links, one target at a time).
    func linkBack(_ id: UInt32, layer: Int, scratch s: SearchScratch) {
        let chosen = s.selected.map(\.id)
        for n in chosen {
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 1) { one in
                one[0] = id
                offerLinks(to: n, layer: layer, sources: UnsafeBufferPointer(one), scratch: s)
            }
        }
    }
}
