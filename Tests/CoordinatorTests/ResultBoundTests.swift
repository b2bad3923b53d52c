import XCTest
import HNSW
import Shared
@testable import Coordinator

/// The coordinator refuses a chunked result whose declared total exceeds what the job's result can
/// be, so the bounds must hold for every honest result: checked here on real shard graphs and
/// refinements, including small M (where lists fill up) and a shard with high-level elements.
final class ResultBoundTests: XCTestCase {
    func testBoundsHoldForRealShardGraphsAndRefinements() throws {
        for (n, dim, M, S) in [(3000, 8, 4, 3), (2000, 16, 16, 2)] {
            var state: UInt64 = 12345
            let rows = (0..<(n * dim)).map { _ -> Float in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int64(bitPattern: state >> 11) % 1000) / 100
            }
            let labels = (0..<UInt64(n)).map { $0 * 7 + 3 }
            let p = IndexParameters(space: .l2, dim: dim, M: M, efConstruction: 40, seed: 9)
            try rows.withUnsafeBufferPointer { rp in
                let plan = ShardPlan.make(rows: rp, labels: labels, shards: S, parameters: p, refine: RefineSettings(epsilon: 0.5), threads: 2)
                let inputs = ShardInputs(plan: plan, rows: rp, labels: labels, parameters: p)
                var graphs: [UInt32: MemberGraph] = [:]
                for s in 0..<S {
                    let index = try HNSWIndex(space: .l2, dim: dim, M: M, efConstruction: 40, capacity: plan.shards[s].count, seed: 9)
                    try inputs.rows(of: s).withUnsafeBufferPointer { try index.add(rows: $0, labels: inputs.labels(of: s)) }
                    let bytes = index.encodeGraph().count
                    let bound = inputs.graphBound(shard: s)
                    XCTAssertLessThanOrEqual(UInt64(bytes), bound, "shard \(s) of \(n) items at M \(M)")
                    // Not so loose that it stops meaning anything: within 4× of the real size.
                    XCTAssertLessThan(bound, UInt64(bytes) * 4, "shard \(s) of \(n) items at M \(M)")
                    graphs[UInt32(s)] = MemberGraph(index: index, members: plan.shards[s].map { UInt32($0) })
                }
                for s in 0..<S where !plan.boundary[s].isEmpty {
                    var others = graphs
                    others[UInt32(s)] = nil
                    let own = try XCTUnwrap(graphs[UInt32(s)])
                    let out = try HNSWIndex.refine(own: own, others: others, boundary: plan.boundary[s], crossK: 8, crossEf: 16,
                                                   threads: 2)
                    let message = WireMessage.refined(RefineResult(shard: UInt32(s), attempt: 1, micros: 5, output: out)).encoded()
                    XCTAssertLessThanOrEqual(UInt64(message.count), inputs.refinedBound(shard: s), "refinement of shard \(s)")
                }
            }
        }
    }
}
