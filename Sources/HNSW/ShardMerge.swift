import Dispatch

/// Settings of the shard merge.
public struct MergeOptions: Sendable {
    /// Beam width of each search in another shard's graph.
    public var crossEf: Int
    /// Candidates kept from each of those searches.
    public var crossK: Int
    public var threads: Int
    /// Beam width while building the upper layers (0 = ef_construction). They only route a search
    /// down to level 0, so a narrower beam than level 0's costs little recall.
    public var upperEf: Int

    public init(crossEf: Int = 48, crossK: Int = 16, threads: Int = 1, upperEf: Int = 0) {
        self.crossEf = max(crossEf, 1)
        self.crossK = max(crossK, 1)
        self.threads = max(threads, 1)
        self.upperEf = max(upperEf, 0)
    }
}

/// What a merge did, for the run log and the training metadata.
public struct MergeReport: Sendable, Equatable {
    public var crossSearches = 0
    public var reverseOffers = 0
    public var upperNodes = 0
    public var orphansRepaired = 0
    public var levelZeroSeconds = 0.0
    public var upperSeconds = 0.0
    public var repairSeconds = 0.0
}

extension HNSWIndex {
    /// Merges shard graphs into one index whose element i is row i.
    ///
    /// With `refined` (the workers' phase 2), level 0 is each element's shard list, replaced by its
    /// refined list where there is one, and the refined offers are applied; no search happens here.
    /// Without it, the coordinator does the cross-shard work itself:
    /// level 0: each element's list is re-selected with the heuristic (cap maxM0) from its own shard
    /// list and the nearest elements found by searching every other shard's graph; each chosen
    /// cross-shard link is then offered back to its target. Layers ≥ 1 are built by inserting only
    /// the level ≥ 1 elements. Elements unreachable on level 0 from the entry point are linked from
    /// their nearest reachable element. Every step is a function of the inputs alone, in id order,
    /// so the result does not depend on thread counts or on the order in which shards arrived.
    /// - Parameters:
    ///   - shards: for each shard, its rows' indices into `rows`, ascending; together a partition.
    ///   - graphs: each shard's index, whose element j is row `shards[s][j]`.
    public static func merge(space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64,
                             rows: UnsafeBufferPointer<Float>, labels: [UInt64], shards: [[Int]], graphs: [HNSWIndex],
                             refined: RefineOutput? = nil, options: MergeOptions = MergeOptions()) throws -> (HNSWIndex, MergeReport) {
        let n = labels.count
        guard shards.count == graphs.count else { throw HNSWError.invalidParameter("\(shards.count) shards but \(graphs.count) graphs") }
        for (s, members) in shards.enumerated() where graphs[s].count != members.count {
            throw HNSWError.invalidParameter("shard \(s) has \(members.count) rows but its graph has \(graphs[s].count) elements")
        }
        guard rows.count == labels.count * dim else { throw HNSWError.dimensionMismatch(expected: dim, got: rows.count) }
        let (g, shardOf) = try start(space: space, dim: dim, M: M, efConstruction: efConstruction, seed: seed, rows: RowCursor(rows, dim: dim), labels: labels,
                                     shards: shards)
        var report = MergeReport()
        let threads = options.threads
        let scratches = (0..<threads).map { _ in g.borrowScratch() }
        defer { scratches.forEach(g.returnScratch) }

        var clock = ContinuousClock.now
        var pairs: [UInt64]
        if let refined {
            pairs = try g.levelZero(from: refined, shards: shards, graphs: graphs)
            report.reverseOffers = pairs.count
        } else {
            // Level 0: own list ∪ cross-shard candidates, pruned; the cross links chosen become offers.
            let offers = Locked<[[UInt64]]>([])
            let shardCount = graphs.count
            shards.withUnsafeBufferPointer { shardsP in
                let sp = Parallel.Unchecked(shardsP)
                let shardOfP = Parallel.Unchecked(shardOf)
                Parallel.forEach(count: n, threads: threads, grain: 64) { r, w in
                    let s = scratches[w]
                    var local: [UInt64] = []
                    var pool: [Candidate] = []
                    for i in r {
                        let id = UInt32(i)
                        let own = Int(shardOfP.value[i])
                        let q = UnsafePointer(g.vector(id))
                        pool.removeAll(keepingCapacity: true)
                        // The element's own shard id: its position among its shard's members.
                        let members = sp.value[own]
                        let localID = members.withUnsafeBufferPointer { lowerBound($0, i) }
                        let ownList = graphs[own].links(UInt32(localID), 0)
                        for j in 0..<linkCount(ownList) {
                            let x = UInt32(members[Int(ownList[1 + j])])
                            pool.append(Candidate(distance: g.distance(q, x), id: x))
                        }
                        for t in 0..<shardCount where t != own {
                            let other = graphs[t]
                            other.withScratch { os in
                                for c in other.nearest(q, k: options.crossK, ef: options.crossEf, scratch: os) {
                                    pool.append(Candidate(distance: c.distance, id: UInt32(sp.value[t][Int(c.id)])))
                                }
                            }
                        }
                        pool.sort { $0.distance < $1.distance || ($0.distance == $1.distance && $0.id < $1.id) }
                        g.selectNeighbors(pool, K: g.maxM0, into: &s.selected)
                        g.writeList(id, layer: 0, s.selected)
                        for c in s.selected where shardOfP.value[Int(c.id)] != Int32(own) {
                            local.append(UInt64(c.id) << 32 | UInt64(i))
                        }
                    }
                    offers.withLock { $0.append(local) }
                }
            }
            pairs = offers.withLock { $0.flatMap { $0 } }
            report.crossSearches = n * (shardCount - 1)
            report.reverseOffers = pairs.count
        }
        g.applyOffers(&pairs, layer: 0, threads: threads, scratches: scratches)
        report.levelZeroSeconds = seconds(since: &clock)
        try finish(g, labels: labels, options: options, report: &report, clock: &clock)
        return (g, report)
    }

    /// Merges the way a cluster build does: level 0 is each element's shard list, replaced by its
    /// refined list where there is one, with the refined offers applied; the upper layers are built
    /// anew. `graph(s)` opens shard s's graph file (`encodeGraph`'s layout) and `refinement(s)` gives
    /// its refinement (nil for none); each is asked for one shard at a time, the graph is streamed and
    /// only its level-0 lists are kept, so a coordinator keeps shard results on disk and never holds a
    /// shard's graph or refinements of every shard; `rows` may read the vectors back from a file. The
    /// bytes for the same inputs are those of `merge(…graphs:refined:…)` with the decoded graphs and
    /// the refinements concatenated in shard order.
    public static func merge(space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64,
                             rows: some RowSource, labels: [UInt64], shards: [[Int]],
                             options: MergeOptions = MergeOptions(),
                             graph: (Int) throws -> FileIO.Reader,
                             refinement: (Int) throws -> RefineOutput?) throws -> (HNSWIndex, MergeReport) {
        let (g, _) = try start(space: space, dim: dim, M: M, efConstruction: efConstruction, seed: seed, rows: rows, labels: labels,
                               shards: shards)
        var report = MergeReport()
        let threads = options.threads
        let scratches = (0..<threads).map { _ in g.borrowScratch() }
        defer { scratches.forEach(g.returnScratch) }
        var clock = ContinuousClock.now
        for (s, members) in shards.enumerated() {
            try g.copyLevelZero(from: try graph(s), members: members, shard: s)
        }
        // Refined lists replace shard lists after every shard's lists are in, in shard order.
        var pairs: [UInt64] = []
        for s in shards.indices {
            if let r = try refinement(s) { pairs += try g.applyRefined(r) }
        }
        report.reverseOffers = pairs.count
        g.applyOffers(&pairs, layer: 0, threads: threads, scratches: scratches)
        report.levelZeroSeconds = seconds(since: &clock)
        try finish(g, labels: labels, options: options, report: &report, clock: &clock)
        return (g, report)
    }

    /// The merged index before any link: element i is row i with its label and level. Checks that
    /// the shards partition the rows; returns each row's shard.
    private static func start(space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64, rows: some RowSource,
                              labels: [UInt64], shards: [[Int]]) throws -> (HNSWIndex, [Int32]) {
        let n = labels.count
        var shardOf = [Int32](repeating: -1, count: n)
        for (s, members) in shards.enumerated() {
            for r in members {
                guard r >= 0, r < n, shardOf[r] == -1 else { throw HNSWError.invalidParameter("the shards are not a partition of the rows (row \(r))") }
                shardOf[r] = Int32(s)
            }
        }
        guard !shardOf.contains(-1) else { throw HNSWError.invalidParameter("the shards do not cover every row") }
        let g = try HNSWIndex(space: space, dim: dim, M: M, efConstruction: efConstruction, capacity: n, seed: seed)
        try g.reserve(n)
        g.labelToID.reserveCapacity(n)
        try g.appendRecords(labels: labels, from: rows)
        return (g, shardOf)
    }

    /// Upper layers and the reachability repair, after level 0.
    private static func finish(_ g: HNSWIndex, labels: [UInt64], options: MergeOptions, report: inout MergeReport,
                               clock: inout ContinuousClock.Instant) throws {
        let n = g.count, threads = options.threads
        let (space, dim, M, seed) = (g.space, g.dim, g.M, g.seed)
        // Upper layers: insert only the level ≥ 1 elements into a scratch index, then copy its lists.
        let upperRows = (0..<n).filter { g.level(UInt32($0)) >= 1 }
        report.upperNodes = upperRows.count
        if upperRows.isEmpty {
            g.entryPoint = n > 0 ? 0 : nil
            g.maxLevel = n > 0 ? 0 : -1
        } else {
            let u = try HNSWIndex(space: space, dim: dim, M: M, efConstruction: options.upperEf > 0 ? options.upperEf : g.efConstruction,
                                  capacity: upperRows.count, seed: seed)
            try u.reserve(upperRows.count)
            for (k, r) in upperRows.enumerated() {
                u.writeRecord(id: UInt32(k), vector: g.vector(UInt32(r)), label: labels[r], level: g.level(UInt32(r)))
            }
            u.count = upperRows.count
            u.insertBatches(0..<upperRows.count, maxBatch: 128, threads: threads, lowestLayer: 1)
            for (k, r) in upperRows.enumerated() {
                for layer in 1...u.level(UInt32(k)) {
                    let src = u.links(UInt32(k), layer), dst = g.links(UInt32(r), layer)
                    let c = linkCount(src)
                    dst[0] = UInt32(c)
                    for j in 0..<c { dst[1 + j] = UInt32(upperRows[Int(src[1 + j])]) }
                }
            }
            guard let ep = u.entryPoint else { throw HNSWError.invalidGraph("the upper layers have no entry point") }
            g.entryPoint = UInt32(upperRows[Int(ep)])
            g.maxLevel = u.maxLevel
        }
        report.upperSeconds = seconds(since: &clock)
        report.orphansRepaired = g.repairReachability(threads: threads)
        report.repairSeconds = seconds(since: &clock)
    }

    private static func seconds(since clock: inout ContinuousClock.Instant) -> Double {
        let now = ContinuousClock.now
        let d = now - clock
        clock = now
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// Level 0 from the shard lists and the workers' refined lists (checked: ids, caps, no self
    /// links); returns the refined offers, checked the same way.
    func levelZero(from refined: RefineOutput, shards: [[Int]], graphs: [HNSWIndex]) throws -> [UInt64] {
        for (s, members) in shards.enumerated() {
            let sub = graphs[s]
            for (j, r) in members.enumerated() {
                let src = sub.links(UInt32(j), 0), dst = links(UInt32(r), 0)
                let c = linkCount(src)
                dst[0] = UInt32(c)
                for k in 0..<c { dst[1 + k] = UInt32(members[Int(src[1 + k])]) }
            }
        }
        return try applyRefined(refined)
    }

    /// Copies shard `shard`'s level-0 lists from its encoded graph into this index, shard ids mapped
    /// to rows through `members`. The bytes come from a file, so every count, id and length is
    /// checked before use, as `assemble` checks them.
    func copyLevelZero(from r: FileIO.Reader, members: [Int], shard: Int) throws {
        let n = members.count
        func bad(_ m: String) -> HNSWError { .invalidGraph("shard \(shard): \(m)") }
        func u32() throws -> UInt32 {
            guard r.remaining >= 4 else { throw bad("it ends at byte \(r.position), inside a 4-byte field") }
            return try r.read(UInt32.self)
        }
        guard try u32() == Self.graphMagic else { throw bad("it does not start with the shard-graph magic") }
        guard Int(try u32()) == n else { throw bad("its element count does not match the shard's \(n) items") }
        _ = try u32()  // max level and entry point: the upper layers are rebuilt
        _ = try u32()
        guard Int(try u32()) == maxM, Int(try u32()) == maxM0 else { throw bad("its link caps do not match M = \(M)") }
        guard r.remaining >= n else { throw bad("it ends inside the level table") }
        var levels = [UInt8](repeating: 0, count: n)
        if n > 0 { try levels.withUnsafeMutableBytes { try r.read(into: $0.baseAddress.unsafelyUnwrapped, count: n) } }
        var list = [UInt32](repeating: 0, count: max(maxM0, maxM) + 1)
        try list.withUnsafeMutableBufferPointer { lp in
            let l = lp.baseAddress.unsafelyUnwrapped
            for j in 0..<n {
                for layer in 0...Int(levels[j]) {
                    guard r.remaining >= 2 else { throw bad("it ends inside element \(j)'s lists") }
                    let c = Int(try r.read(UInt16.self))
                    guard c <= (layer == 0 ? maxM0 : maxM), r.remaining >= 4 * c else { throw bad("element \(j) has a bad list on layer \(layer)") }
                    try r.read(into: l, count: 4 * c)
                    guard layer == 0 else { continue }
                    let dst = links(UInt32(members[j]), 0)
                    dst[0] = UInt32(c)
                    for k in 0..<c {
                        let x = Int(UInt32(littleEndian: l[k]))
                        guard x < n, x != j else { throw bad("element \(j) links to \(x)") }
                        dst[1 + k] = UInt32(members[x])
                    }
                }
            }
        }
        guard r.remaining == 0 else { throw bad("it has \(r.remaining) bytes after the last list") }
    }

    /// Applies the workers' refined lists (checked: ids, caps, no self links); returns the refined
    /// offers, checked the same way.
    func applyRefined(_ refined: RefineOutput) throws -> [UInt64] {
        let n = UInt32(count)
        for l in refined.lists {
            guard l.id < n, l.links.count <= maxM0, !l.links.contains(where: { $0 >= n || $0 == l.id }) else {
                throw HNSWError.invalidGraph("the refined list of element \(l.id) has an id out of range, a self link or more than \(maxM0) links")
            }
            let dst = links(l.id, 0)
            dst[0] = UInt32(l.links.count)
            for (k, x) in l.links.enumerated() { dst[1 + k] = x }
            if l.links.count < maxM0 { (dst + 1 + l.links.count).update(repeating: 0, count: maxM0 - l.links.count) }
        }
        for o in refined.offers {
            let t = UInt32(truncatingIfNeeded: o >> 32), s = UInt32(truncatingIfNeeded: o)
            guard t < n, s < n, t != s else { throw HNSWError.invalidGraph("offer \(s) → \(t) names an element out of range") }
        }
        return refined.offers
    }

    /// Links every element that level 0 cannot reach from the entry point to its nearest reachable
    /// element, in id order. The host is found by a level-0 search that starts at a reachable element
    /// (where the upper layers lead, if that is reachable, else the entry point), so it only walks
    /// reachable elements: the upper layers may lead into a part level 0 does not reach, and a host
    /// there would leave the orphan unreachable. Returns how many elements needed it.
    func repairReachability(threads: Int) -> Int {
        guard let ep = entryPoint, count > 0 else { return 0 }
        var seen = [Bool](repeating: false, count: count)
        var stack: [UInt32] = []
        func flood(from start: UInt32) {
            seen[Int(start)] = true
            stack.append(start)
            while let x = stack.popLast() {
                let list = links(x, 0)
                for j in 0..<linkCount(list) where !seen[Int(list[1 + j])] {
                    seen[Int(list[1 + j])] = true
                    stack.append(list[1 + j])
                }
            }
        }
        flood(from: ep)
        var repaired = 0
        for i in 0..<count where !seen[i] {
            let id = UInt32(i)
            let found: UInt32? = withScratch { s in
                let q = UnsafePointer(vector(id))
                var start = greedyDescent(q, from: ep, top: maxLevel, downTo: 0, scratch: s)
                if !seen[Int(start)] { start = ep }
                searchLayer(q, entry: start, layer: 0, ef: efConstruction, scratch: s)
                var top = s.top
                var closest: UInt32?
                while !top.isEmpty { closest = top.pop().id }
                s.top = top
                return closest
            }
            guard let host = found, host != id, seen[Int(host)] else { continue }
            let list = links(host, 0)
            let c = linkCount(list)
            if c < maxM0 {
                list[1 + c] = id
                setLinkCount(list, c + 1)
            } else {
                // Replace the host's farthest link: the orphan must become reachable.
                var worst = 0
                var worstD = -Float.infinity
                for j in 0..<c {
                    let d = distance(host, list[1 + j])
                    if d > worstD { worstD = d; worst = j }
                }
                list[1 + worst] = id
            }
            repaired += 1
            flood(from: id)
        }
        return repaired
    }
}

/// Index of `value` in the ascending buffer `a` (the first position not below it).
@inline(__always) func lowerBound(_ a: UnsafeBufferPointer<Int>, _ value: Int) -> Int {
    var lo = 0, hi = a.count
    while lo < hi {
        let mid = (lo + hi) >> 1
        if a[mid] < value { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
