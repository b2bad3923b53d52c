import HNSW

/// The rows and labels behind a shard plan, and the checks on what workers return for it. The job
/// server and a resumed build's reading of the work folder share it.
struct ShardInputs: @unchecked Sendable {
    let plan: ShardPlan
    let rows: UnsafeBufferPointer<Float>
    let labels: [UInt64]
    let parameters: IndexParameters
    /// Global ids of each shard's boundary elements: the only lists a refinement may replace.
    let boundaryIDs: [Set<UInt32>]

    init(plan: ShardPlan, rows: UnsafeBufferPointer<Float>, labels: [UInt64], parameters: IndexParameters) {
        self.plan = plan
        self.rows = rows
        self.labels = labels
        self.parameters = parameters
        boundaryIDs = plan.boundary.enumerated().map { s, b in Set(b.map { UInt32(plan.shards[s][Int($0.0)]) }) }
    }

    /// Shard `s`'s rows, row-major, in member order.
    func rows(of s: Int) -> [Float] {
        let members = plan.shards[s]
        let d = parameters.dim
        var v = [Float](repeating: 0, count: members.count * d)
        v.withUnsafeMutableBufferPointer { vp in
            for (j, r) in members.enumerated() { (vp.baseAddress! + j * d).update(from: rows.baseAddress! + r * d, count: d) }
        }
        return v
    }

    /// Shard `s`'s labels, in member order.
    func labels(of s: Int) -> [UInt64] { plan.shards[s].map { labels[$0] } }

    /// Rebuilds shard `s`'s index from a worker's encoded graph, which validates every field.
    func assemble(shard s: Int, _ bytes: [UInt8]) throws -> HNSWIndex {
        let p = parameters
        return try rows(of: s).withUnsafeBufferPointer { rowsP in
            try bytes.withUnsafeBytes {
                try HNSWIndex.assemble(space: p.space, dim: p.dim, M: p.M, efConstruction: p.efConstruction, seed: p.seed,
                                       rows: rowsP, labels: labels(of: s), graph: $0)
            }
        }
    }

    /// Why a refinement of shard `s` is invalid, or nil: only that shard's boundary elements, each
    /// once, ids in range, no self links, at most maxM0 links, offers from those elements.
    func validate(_ o: RefineOutput, shard s: Int) -> String? {
        let allowed = boundaryIDs[s]
        let n = UInt32(labels.count)
        let cap = 2 * parameters.M
        var seen = Set<UInt32>()
        for l in o.lists {
            guard allowed.contains(l.id), seen.insert(l.id).inserted else { return "element \(l.id) is not a boundary element of shard \(s) (or repeats)" }
            guard l.links.count <= cap, l.links.allSatisfy({ $0 < n && $0 != l.id }) else { return "the list of element \(l.id) is invalid" }
        }
        for x in o.offers {
            let t = UInt32(truncatingIfNeeded: x >> 32), src = UInt32(truncatingIfNeeded: x)
            guard allowed.contains(src), t < n, t != src else { return "offer \(src) → \(t) is not from a boundary element of shard \(s)" }
        }
        return nil
    }
}
