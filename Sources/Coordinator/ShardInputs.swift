import Foundation
import HNSW
import Shared

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
        let n = plan.shards[s].count * parameters.dim
        return [Float](filling: n) { writeRows(of: s, into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// Writes shard `s`'s rows into `dest` (members × dim floats, any alignment): a refinement job
    /// message gets them in place.
    func writeRows(of s: Int, into dest: UnsafeMutableRawBufferPointer) {
        let d = parameters.dim
        for (j, r) in plan.shards[s].enumerated() {
            dest.baseAddress.map { ($0 + j * d * 4).copyMemory(from: rows.baseAddress! + r * d, byteCount: d * 4) }
        }
    }

    /// Shard `s`'s labels, in member order.
    func labels(of s: Int) -> [UInt64] { plan.shards[s].map { labels[$0] } }

    /// Writes shard `s`'s labels into `dest` (little-endian UInt64s, any alignment).
    func writeLabels(of s: Int, into dest: UnsafeMutableRawBufferPointer) {
        for (j, r) in plan.shards[s].enumerated() { dest.storeBytes(of: labels[r].littleEndian, toByteOffset: j * 8, as: UInt64.self) }
    }

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

    /// The most bytes shard `s`'s encoded graph can take (`HNSWIndex.encodeGraph`): a 24-byte
    /// header, a level byte per element, and per element and layer a 2-byte count and full lists
    /// (maxM0 = 2·M links on layer 0, M above). Levels come from the labels' hashes, so they are
    /// known here exactly; only the link counts are bounded.
    func graphBound(shard s: Int) -> UInt64 {
        let p = parameters
        let mult = 1 / log(Double(p.M))
        var bytes: UInt64 = 24
        for r in plan.shards[s] {
            let level = UInt64(Levels.level(label: labels[r], seed: p.seed, mult: mult))
            bytes += 1 + 2 * (level + 1) + 4 * UInt64(2 * p.M) + 4 * level * UInt64(p.M)
        }
        return bytes
    }

    /// The most bytes the REFINED message of shard `s` can take: one list per boundary element (a
    /// 4-byte id, a 2-byte count, at most maxM0 links) and at most maxM0 offers (8 bytes) from each.
    func refinedBound(shard s: Int) -> UInt64 {
        let b = UInt64(plan.boundary[s].count), m0 = UInt64(2 * parameters.M)
        return UInt64(WireMessage.headerSize) + 20 + b * (6 + 4 * m0) + 4 + b * m0 * 8
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
