import XCTest
import HNSW
@testable import Coordinator

/// The k-means partition's assignment and boundary, checked against a plain reading of their rule:
/// every row ranks all shards by its distance to their centroids (ties to the lower shard); rows go
/// in order of regret (second nearest minus nearest, larger first, ties to the lower row) to the
/// nearest shard with room under the cap; a row's boundary is the other shards within (1 + ε) of
/// its own, nearest first, at most maxCross.
final class KMeansPartitionTests: XCTestCase {
    func rows(_ n: Int, _ dim: Int, seed: UInt64) -> [Float] {
        var state = seed
        return (0..<(n * dim)).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 100 - 10
        }
    }

    func reference(rows: [Float], dim: Int, space: Space, centroids: [Float], S: Int, epsilon: Double, maxCross: Int,
                   capFactor: Double) -> (shards: [[Int]], boundary: [[UInt32]]) {
        let n = rows.count / dim
        var dist = [[Float]]()
        for i in 0..<n {
            var v = Array(rows[(i * dim)..<((i + 1) * dim)])
            if space == .cosine { v.withUnsafeMutableBufferPointer { Distance.normalize($0.baseAddress!, dim: dim) } }
            dist.append((0..<S).map { c in
                v.withUnsafeBufferPointer { a in
                    centroids.withUnsafeBufferPointer { b in Distance.between(a.baseAddress!, b.baseAddress! + c * dim, dim: dim, space: .l2).squareRoot() }
                }
            })
        }
        let ranked = dist.map { d in (0..<S).sorted { d[$0] < d[$1] || (d[$0] == d[$1] && $0 < $1) } }
        let regret = (0..<n).map { dist[$0][ranked[$0][1]] - dist[$0][ranked[$0][0]] }
        let order = (0..<n).sorted { regret[$0] > regret[$1] || (regret[$0] == regret[$1] && $0 < $1) }
        let cap = Int((capFactor * Double(n) / Double(S)).rounded(.up))
        var size = [Int](repeating: 0, count: S), shardOf = [Int](repeating: 0, count: n)
        for i in order {
            let c = ranked[i].first { size[$0] < cap } ?? ranked[i][0]
            shardOf[i] = c
            size[c] += 1
        }
        var shards = [[Int]](repeating: [], count: S)
        for i in 0..<n { shards[shardOf[i]].append(i) }
        let boundary = (0..<n).map { i -> [UInt32] in
            let own = dist[i][shardOf[i]]
            return Array(ranked[i].filter { $0 != shardOf[i] && dist[i][$0] <= Float(1 + epsilon) * own }.prefix(maxCross)).map { UInt32($0) }
        }
        return (shards, boundary)
    }

    func testAssignmentAndBoundaryFollowTheirRule() {
        // A tight cap (1.05) forces rows past their nearest shard; a wide ε gives many boundaries.
        for (space, S, capFactor, epsilon, maxCross) in [(Space.l2, 5, 1.05, 0.3, 2), (.cosine, 7, 1.2, 0.5, 3), (.cosine, 2, 1.01, 0.05, 1)] {
            let dim = 6, n = 3_000
            let data = rows(n, dim, seed: UInt64(S))
            let p = data.withUnsafeBufferPointer {
                KMeansPartition.make(rows: $0, dim: dim, space: space, shards: S, seed: 5, epsilon: epsilon, maxCross: maxCross,
                                     capFactor: capFactor, sampleSize: 1_000, threads: 2)
            }
            let want = reference(rows: data, dim: dim, space: space, centroids: p.centroids, S: S, epsilon: epsilon,
                                 maxCross: maxCross, capFactor: capFactor)
            XCTAssertEqual(p.shards, want.shards, "\(space) S \(S)")
            XCTAssertEqual(p.boundary, want.boundary, "\(space) S \(S)")
            XCTAssertEqual(p.shards.map(\.count).reduce(0, +), n)
            XCTAssertLessThanOrEqual(p.shards.map(\.count).max() ?? 0, Int((capFactor * Double(n) / Double(S)).rounded(.up)))
            XCTAssertGreaterThan(p.boundary.filter { !$0.isEmpty }.count, 0)
        }
    }

    /// The partition depends on the seed and the rows only, not on the thread count.
    func testThreadsDoNotChangeThePartition() {
        let data = rows(2_000, 5, seed: 3)
        let make = { (t: Int) in
            data.withUnsafeBufferPointer {
                KMeansPartition.make(rows: $0, dim: 5, space: .cosine, shards: 4, seed: 8, epsilon: 0.1, threads: t)
            }
        }
        let one = make(1), two = make(2)
        XCTAssertEqual(one.centroids, two.centroids)
        XCTAssertEqual(one.shards, two.shards)
        XCTAssertEqual(one.boundary, two.boundary)
    }

    /// A one-shard plan's centroid is the mean of the rows as compared (normalised for cosine), not zeros.
    func testOneShardCentroidIsTheMeanOfTheRows() {
        let data: [Float] = [3, 4, 0, 0, 2, 0, 6, 8, 0]  // normalised: (0.6, 0.8, 0), (0, 1, 0), (0.6, 0.8, 0)
        let cosine = data.withUnsafeBufferPointer {
            KMeansPartition.make(rows: $0, dim: 3, space: .cosine, shards: 1, seed: 1, epsilon: 0.1)
        }
        XCTAssertEqual(cosine.shards, [[0, 1, 2]])
        for (got, want) in zip(cosine.centroids, [Float(1.2 / 3), Float(2.6 / 3), 0]) {
            XCTAssertEqual(got, want, accuracy: 1e-6)
        }
        let l2 = data.withUnsafeBufferPointer {
            KMeansPartition.make(rows: $0, dim: 3, space: .l2, shards: 1, seed: 1, epsilon: 0.1)
        }
        XCTAssertEqual(l2.centroids, [3, Float(14.0 / 3), 0])
    }
}
