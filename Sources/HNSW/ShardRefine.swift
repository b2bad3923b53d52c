/// One element's re-selected level-0 list, in global ids.
public struct RefinedList: Sendable, Equatable {
    public var id: UInt32
    public var links: [UInt32]
    public init(id: UInt32, links: [UInt32]) {
        self.id = id
        self.links = links
    }
}

/// What the refinement of one shard produces: new lists for its boundary elements, and the
/// cross-shard links they chose, to be offered back to their targets (target << 32 | source).
public struct RefineOutput: Sendable, Equatable {
    public var lists: [RefinedList]
    public var offers: [UInt64]
    public init(lists: [RefinedList] = [], offers: [UInt64] = []) {
        self.lists = lists
        self.offers = offers
    }
}

/// A shard graph with the global id of each of its elements.
public struct MemberGraph: @unchecked Sendable {
    public var index: HNSWIndex
    public var members: [UInt32]
    public init(index: HNSWIndex, members: [UInt32]) {
        self.index = index
        self.members = members
    }
}

extension HNSWIndex {
    /// Phase 2 of the cluster build, run on a worker: each boundary element of `own` searches the
    /// graphs of the shards it borders (beam `crossEf`, `crossK` candidates each) and its level-0 list
    /// is re-selected with the heuristic (cap maxM0) from its own list ∪ those candidates. Each
    /// element is independent of the others, so the output does not depend on `threads`.
    /// - Parameter boundary: (local id in `own`, shards to search), in ascending local id.
    public static func refine(own: MemberGraph, others: [UInt32: MemberGraph], boundary: [(UInt32, [UInt32])],
                              crossK: Int, crossEf: Int, threads: Int) throws -> RefineOutput {
        let g = own.index
        for (u, shards) in boundary {
            guard Int(u) < g.count else { throw HNSWError.invalidGraph("boundary element \(u) is not in the shard") }
            for t in shards where others[t] == nil { throw HNSWError.invalidGraph("shard \(t) is needed but was not sent") }
        }
        var lists = [RefinedList](repeating: RefinedList(id: 0, links: []), count: boundary.count)
        var offers = [[UInt64]](repeating: [], count: boundary.count)
        struct Pooled { var d: Float; var id: UInt32; var v: UnsafePointer<Float> }
        lists.withUnsafeMutableBufferPointer { L in
            offers.withUnsafeMutableBufferPointer { O in
                let lp = Parallel.Unchecked(L.baseAddress!), op = Parallel.Unchecked(O.baseAddress!)
                Parallel.forEach(count: boundary.count, threads: threads, grain: 16) { r, _ in
                    var pool: [Pooled] = []
                    var kept: [Pooled] = []
                    for k in r {
                        let (u, shards) = boundary[k]
                        let q = UnsafePointer(g.vector(u))
                        pool.removeAll(keepingCapacity: true)
                        let list = g.links(u, 0)
                        for j in 0..<linkCount(list) {
                            let x = list[1 + j]
                            pool.append(Pooled(d: g.distance(q, x), id: own.members[Int(x)], v: UnsafePointer(g.vector(x))))
                        }
                        for t in shards {
                            let other = others[t].unsafelyUnwrapped
                            let found = other.index.withScratch { other.index.nearest(q, k: crossK, ef: crossEf, scratch: $0) }
                            for c in found {
                                pool.append(Pooled(d: c.distance, id: other.members[Int(c.id)], v: UnsafePointer(other.index.vector(c.id))))
                            }
                        }
                        pool.sort { $0.d < $1.d || ($0.d == $1.d && $0.id < $1.id) }
                        kept.removeAll(keepingCapacity: true)
                        if pool.count <= g.maxM0 {
                            kept = pool
                        } else {
                            for c in pool {
                                if kept.count >= g.maxM0 { break }
                                var good = true
                                for s in kept where Distance.between(c.v, s.v, dim: g.dim, space: g.space) < c.d {
                                    good = false
                                    break
                                }
                                if good { kept.append(c) }
                            }
                        }
                        let me = own.members[Int(u)]
                        lp.value[k] = RefinedList(id: me, links: kept.map(\.id))
                        let ownIDs = Set((0..<linkCount(list)).map { own.members[Int(list[1 + $0])] })
                        op.value[k] = kept.filter { !ownIDs.contains($0.id) }.map { UInt64($0.id) << 32 | UInt64(me) }
                    }
                }
            }
        }
        return RefineOutput(lists: lists, offers: offers.flatMap { $0 })
    }
}
