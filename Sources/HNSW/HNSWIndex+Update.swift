extension HNSWIndex {
    /// Marks `label` deleted: it stays in the graph for routing but is never returned.
    public func markDeleted(_ label: UInt64) throws {
        guard let id = labelToID[label] else { throw HNSWError.labelNotFound(label) }
        guard !isDeleted(id) else { throw HNSWError.invalidParameter("label \(label) is already marked deleted") }
        record(id).assumingMemoryBound(to: UInt32.self)[0] |= 1 << 16
        deletedCount += 1
    }

    /// Clears the delete mark of `label`.
    public func unmarkDeleted(_ label: UInt64) throws {
        guard let id = labelToID[label] else { throw HNSWError.labelNotFound(label) }
        guard isDeleted(id) else { throw HNSWError.invalidParameter("label \(label) is not marked deleted") }
        record(id).assumingMemoryBound(to: UInt32.self)[0] &= ~(1 << 16)
        deletedCount -= 1
    }

    /// Replaces the vector of an existing label with hnswlib's repair semantics: the neighbours'
    /// lists are re-selected from the 2-hop neighbourhood, then the element is reconnected like an
    /// insert. A deleted label is undeleted, as hnswlib's addPoint does.
    public func update(label: UInt64, vector newVector: UnsafeBufferPointer<Float>) throws {
        guard newVector.count == dim else { throw HNSWError.dimensionMismatch(expected: dim, got: newVector.count) }
        guard let id = labelToID[label] else { throw HNSWError.labelNotFound(label) }
        if isDeleted(id) { try unmarkDeleted(label) }
        let v = vector(id)
        v.update(from: newVector.baseAddress!, count: dim)
        if space == .cosine { Distance.normalize(v, dim: dim) }
        guard let ep = entryPoint, count > 1 else { return }
        withScratch { s in
            let L = level(id)
            for layer in 0...L {
                repairNeighbours(of: id, layer: layer, scratch: s)
            }
            reconnect(id, entry: ep, scratch: s)
        }
    }

    /// Re-selects the lists of `id`'s neighbours at `layer` from its 1- and 2-hop neighbourhood.
    private func repairNeighbours(of id: UInt32, layer: Int, scratch s: SearchScratch) {
        let own = links(id, layer)
        let oneHop = (0..<linkCount(own)).map { own[1 + $0] }
        var hood = Set<UInt32>(oneHop)
        for n in oneHop {
            let l = links(n, layer)
            for j in 0..<linkCount(l) { hood.insert(l[1 + j]) }
        }
        hood.remove(id)
        let ordered = hood.sorted()
        let keep = min(efConstruction, ordered.count)
        for n in oneHop {
            let nv = vector(n)
            s.pool.removeAll(keepingCapacity: true)
            for c in ordered where c != n { s.pool.append(Candidate(distance: distance(nv, c), id: c)) }
            s.pool.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
            if s.pool.count > keep { s.pool.removeLast(s.pool.count - keep) }
            selectNeighbors(s.pool, K: cap(layer), into: &s.selected)
            writeList(n, layer: layer, s.selected)
        }
    }

    /// Finds new neighbours for an existing element and links both ways (repairConnectionsForUpdate).
    private func reconnect(_ id: UInt32, entry ep: UInt32, scratch s: SearchScratch) {
        let q = UnsafePointer(vector(id))
        let L = level(id)
        var cur = ep
        if L < maxLevel { cur = greedyDescent(q, from: ep, top: maxLevel, downTo: L, scratch: s) }
        var layer = min(L, maxLevel)
        while layer >= 0 {
            searchLayer(q, entry: cur, layer: layer, ef: efConstruction, scratch: s)
            drainTop(s, excluding: id)
            if isDeleted(ep) && ep != id && !s.pool.contains(where: { $0.id == ep }) {
                s.pool.append(Candidate(distance: distance(q, ep), id: ep))
                s.pool.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
                if s.pool.count > efConstruction { s.pool.removeLast() }
            }
            if !s.pool.isEmpty {
                selectNeighbors(s.pool, K: M, into: &s.selected)
                writeList(id, layer: layer, s.selected)
                cur = s.selected[0].id
                linkBack(id, layer: layer, scratch: s)
            }
            layer -= 1
        }
    }
}
