import XCTest
@testable import HNSW

final class SearchTests: XCTestCase {
    func testHeuristicKeepsDiverseNeighboursOnly() throws {
        // 1-D points, base at 0: candidates 1 (d 1), −1.5 (d 2.25), 2 (d 4), 3 (d 9) in squared l2.
        let values: [Float] = [0, 1, -1.5, 2, 3]
        let index = try buildIndex(values, dim: 1, M: 3, threads: 1)
        let pool = [1, 2, 3, 4].map { Candidate(distance: values[$0] * values[$0], id: UInt32($0)) }
        var out: [Candidate] = []
        index.selectNeighbors(pool, K: 3, into: &out)
        // 2 is dropped (dist(1, 2) = 1 < 4), 3 is dropped (dist(1, 3) = 4 < 9): no back-fill.
        XCTAssertEqual(out.map(\.id), [1, 2])
        index.selectNeighbors(Array(pool.prefix(2)), K: 3, into: &out)
        XCTAssertEqual(out.map(\.id), [1, 2], "fewer than K candidates are all kept")
        index.selectNeighbors([pool[0], pool[2], pool[3]], K: 3, into: &out)
        XCTAssertEqual(out.map(\.id), [1], "exactly K candidates still go through the heuristic")
    }

    func testSearchWithLargeEfEqualsBruteForceInEverySpace() throws {
        let dim = 8
        let rows = randomRows(600, dim, seed: 1)
        let queries = randomRows(50, dim, seed: 2)
        for space in Space.allCases {
            let index = try buildIndex(rows, dim: dim, space: space, M: 8)
            let truth = exactTopK(rows, queries, dim: dim, k: 10, space: space)
            for i in 0..<50 {
                let got = try index.search(Array(queries[(i * dim)..<((i + 1) * dim)]), k: 10, ef: 600)
                XCTAssertEqual(got.map { Int($0.label) }, truth[i], "space \(space), query \(i)")
                XCTAssertEqual(got.map(\.distance), got.map(\.distance).sorted())
            }
        }
    }

    func testRecallAtTenOn20kRandomNormalVectors() throws {
        let dim = 32
        let rows = randomRows(20_000, dim, seed: 3)
        let queries = randomRows(500, dim, seed: 4)
        let index = try buildIndex(rows, dim: dim, space: .l2, M: 16, efConstruction: 200)
        let truth = exactTopK(rows, queries, dim: dim, k: 10, space: .l2)
        let found = try queries.withUnsafeBufferPointer { try index.searchBatch($0, k: 10, ef: 100, threads: 2) }
        let r = recall(found, truth)
        XCTAssertGreaterThanOrEqual(r, 0.95, "recall@10 at ef 100 was \(r)")
    }

    func testCosineNormalisesLikeHnswlib() throws {
        let index = try HNSWIndex(space: .cosine, dim: 3, M: 4, capacity: 2)
        try index.add([3, 4, 0], label: 7)
        let stored = try index.vector(of: 7)
        let scale: Float = 1 / ((9 + 16 as Float).squareRoot() + 1e-30)
        XCTAssertEqual(stored, [3 * scale, 4 * scale, 0])
        let hit = try index.search([6, 8, 0], k: 1)
        XCTAssertEqual(hit.first?.label, 7)
        XCTAssertEqual(hit.first?.distance ?? 1, 0, accuracy: 1e-6)
    }

    func testDistanceKernelsAgreeAcrossInstructionSets() throws {
        let a = randomRows(1, 37, seed: 5), b = randomRows(1, 37, seed: 6)
        var expectedDot: Float = 0, expectedL2: Float = 0
        for i in 0..<37 {
            expectedDot += a[i] * b[i]
            expectedL2 += (a[i] - b[i]) * (a[i] - b[i])
        }
        let original = Distance.isa
        defer { Distance.force(isa: original) }
        for isa in ["scalar", "avx2", "avx512"] where Distance.force(isa: isa) {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    XCTAssertEqual(Distance.between(ap.baseAddress!, bp.baseAddress!, dim: 37, space: .l2), expectedL2, accuracy: 1e-3, isa)
                    XCTAssertEqual(Distance.between(ap.baseAddress!, bp.baseAddress!, dim: 37, space: .ip), 1 - expectedDot, accuracy: 1e-3, isa)
                }
            }
        }
    }

    /// The tiled exact search against a plain loop, on every instruction set: sizes that are not
    /// multiples of the tile (16 queries), the row groups (4) or the block (1024), and duplicate rows,
    /// of which the lower row must be kept at the k-th place.
    func testExactSearchMatchesAPlainScan() {
        let dim = 13, n = 2_087, nq = 37, k = 7
        var rows = randomRows(n, dim, seed: 11)
        for r in stride(from: 1_500, to: n, by: 50) { for j in 0..<dim { rows[r * dim + j] = rows[3 * dim + j] } }
        var queries = randomRows(nq, dim, seed: 12)
        for j in 0..<dim { queries[j] = rows[3 * dim + j] }  // query 0 sits on the duplicated row
        let original = Distance.isa
        defer { Distance.force(isa: original) }
        for space in [Space.l2, .ip, .cosine] {
            var b = rows, q = queries
            if space == .cosine {
                b.withUnsafeMutableBufferPointer { p in for i in 0..<n { Distance.normalize(p.baseAddress! + i * dim, dim: dim) } }
                q.withUnsafeMutableBufferPointer { p in for i in 0..<nq { Distance.normalize(p.baseAddress! + i * dim, dim: dim) } }
            }
            let plain: [[Int]] = (0..<nq).map { qi in
                let d = (0..<n).map { r -> Float in
                    var dot: Float = 0, l2: Float = 0
                    for j in 0..<dim {
                        dot += q[qi * dim + j] * b[r * dim + j]
                        l2 += (q[qi * dim + j] - b[r * dim + j]) * (q[qi * dim + j] - b[r * dim + j])
                    }
                    return space == .l2 ? l2 : 1 - dot
                }
                return Array((0..<n).sorted { d[$0] != d[$1] ? d[$0] < d[$1] : $0 < $1 }.prefix(k))
            }
            for isa in ["scalar", "avx2", "avx512"] where Distance.force(isa: isa) {
                let found = rows.withUnsafeBufferPointer { bp in
                    queries.withUnsafeBufferPointer { ExactSearch.nearest(base: bp, queries: $0, dim: dim, k: k, space: space, threads: 2) }
                }
                XCTAssertEqual(found.count, nq)
                let agree = zip(found, plain).map { Set($0.map { Int($0.label) }).intersection($1).count }.reduce(0, +)
                XCTAssertGreaterThanOrEqual(Double(agree) / Double(nq * k), 0.995, "\(space) \(isa)")
                XCTAssertTrue(found.allSatisfy { zip($0, $0.dropFirst()).allSatisfy { $0.distance <= $1.distance } })
                // The duplicates of row 3 tie at distance 0 (l2) for query 0: the lowest rows win.
                if space == .l2 { XCTAssertEqual(Set(found[0].map(\.label)), Set([3, 1500, 1550, 1600, 1650, 1700, 1750])) }
            }
        }
    }

    /// Exact search over the vectors an index holds gives the same neighbours and distances, bit for
    /// bit, as exact search over the caller's rows of the same labels (the quality phase relies on it
    /// once the build has taken the rows over), also over a subset of labels in another order.
    func testExactSearchInAnIndexEqualsTheSearchOverItsRows() throws {
        let dim = 13, n = 2_087, nq = 37, k = 7
        let rows = randomRows(n, dim, seed: 21)
        let queries = randomRows(nq, dim, seed: 22)
        for space in [Space.l2, .ip, .cosine] {
            let index = try HNSWIndex(space: space, dim: dim, M: 8, efConstruction: 40, capacity: n, seed: 5)
            // Labels are not internal ids: the index gets them in reverse.
            let labels = (0..<n).map { UInt64(n - 1 - $0) }
            try rows.withUnsafeBufferPointer { try index.add(rows: $0, labels: labels, options: BuildOptions(threads: 2)) }
            let chosen = (0..<n).filter { $0 % 3 != 1 }  // row r holds label n−1−r
            let subset = chosen.flatMap { rows[($0 * dim)..<(($0 + 1) * dim)] }
            let expected = subset.withUnsafeBufferPointer { bp in
                queries.withUnsafeBufferPointer { ExactSearch.nearest(base: bp, queries: $0, dim: dim, k: k, space: space, threads: 2) }
            }
            let found = try queries.withUnsafeBufferPointer {
                try ExactSearch.nearest(in: index, labels: chosen.map { labels[$0] }, queries: $0, k: k, threads: 2)
            }
            XCTAssertEqual(found, expected, "\(space)")
        }
        let index = try HNSWIndex(space: .l2, dim: dim, M: 8, efConstruction: 40, capacity: 4, seed: 5)
        XCTAssertThrowsError(try queries.withUnsafeBufferPointer { try ExactSearch.nearest(in: index, labels: [9], queries: $0, k: 1, threads: 1) })
    }

    /// Rows read in order, a block at a time, build the same index as the rows in a buffer; only
    /// new labels may be added that way, and a source that runs dry is an error.
    func testAddingRowsReadInOrderBuildsTheSameIndex() throws {
        let dim = 8, n = 9_000  // more than two blocks of 4,096
        let rows = randomRows(n, dim, seed: 31)
        let labels = (0..<n).map { UInt64($0 * 3 + 1) }
        let a = try HNSWIndex(space: .cosine, dim: dim, M: 8, efConstruction: 60, capacity: n, seed: 5)
        try rows.withUnsafeBufferPointer { try a.add(rows: $0, labels: labels, options: BuildOptions(threads: 2)) }
        let b = try HNSWIndex(space: .cosine, dim: dim, M: 8, efConstruction: 60, capacity: n + 1, seed: 5)
        try rows.withUnsafeBufferPointer { try b.add(labels: labels, reading: RowCursor($0, dim: dim), options: BuildOptions(threads: 2)) }
        let pa = temporaryPath("reading-a.bin"), pb = temporaryPath("reading-b.bin")
        try a.save(to: pa)
        try b.resize(capacity: n)
        try b.save(to: pb)
        XCTAssertEqual(try fileBytes(pa), try fileBytes(pb))
        try b.resize(capacity: n + 1)
        XCTAssertThrowsError(try rows.withUnsafeBufferPointer { try b.add(labels: [labels[0]], reading: RowCursor($0, dim: dim)) }) {
            XCTAssertTrue("\($0)".contains("already in the index"), "\($0)")
        }
        let c = try HNSWIndex(space: .l2, dim: dim, M: 8, efConstruction: 60, capacity: n, seed: 5)
        XCTAssertThrowsError(try rows.withUnsafeBufferPointer {
            try c.add(labels: (0..<UInt64(n)).map { $0 }, reading: RowCursor(UnsafeBufferPointer(rebasing: $0[0..<(100 * dim)]), dim: dim))
        })
    }

    func testLevelsDependOnlyOnLabelAndSeed() {
        let mult = 1 / log(16.0)
        XCTAssertEqual(Levels.level(label: 12345, seed: 42, mult: mult), Levels.level(label: 12345, seed: 42, mult: mult))
        let levels = (0..<100_000).map { Levels.level(label: UInt64($0), seed: 42, mult: mult) }
        let above0 = Double(levels.filter { $0 >= 1 }.count) / 1e5
        XCTAssertEqual(above0, 1.0 / 16, accuracy: 0.005, "P(level ≥ 1) = 1/M")
        let other = (0..<1000).map { Levels.level(label: UInt64($0), seed: 43, mult: mult) }
        XCTAssertNotEqual(Array(levels.prefix(1000)), other)
    }

    func testEmptyIndexSearchesToNothing() throws {
        let index = try HNSWIndex(space: .l2, dim: 4, capacity: 10)
        XCTAssertEqual(try index.search([0, 0, 0, 0], k: 5), [])
        XCTAssertThrowsError(try index.search([0, 0], k: 5)) { XCTAssertEqual($0 as? HNSWError, .dimensionMismatch(expected: 4, got: 2)) }
    }
}
