import Foundation
import HNSW
import XCTest
@testable import Shared

final class QualityTests: XCTestCase {
    func testQuantilesAndHistogramsFollowNumpy() {
        // np.quantile([1, 2, 3, 4, 10], [0, 0.1, 0.5, 0.99, 1]) and np.histogram([0, 0.25, 0.5, 1], 2, (0, 1))
        let q = [0, 0.1, 0.5, 0.99, 1].map { QualityMeasure.quantile(sorted: [1, 2, 3, 4, 10], $0) }
        for (a, b) in zip(q, [1, 1.4, 3, 9.76, 10]) { XCTAssertEqual(a, b, accuracy: 1e-12) }
        XCTAssertEqual(QualityMeasure.histogram([0, 0.25, 0.5, 1], lo: 0, hi: 1, bins: 2).counts, [2, 2])
        let flat = QualityMeasure.histogram([3, 3], lo: 3, hi: 3, bins: 4)
        XCTAssertEqual(flat.edges.first, 2.5)
        XCTAssertEqual(flat.edges.last, 3.5)
        XCTAssertEqual(flat.counts, [0, 0, 2, 0])
    }

    func testDuplicatesAreBitForBitWithNegativeZeroAsZero() {
        let rows: [Float] = [1, 0, 1, -0.0, 2, 2, 1, 0, 2, 2.0000002]
        XCTAssertEqual(QualityMeasure.duplicateShare(rows, rows: 5, dim: 2), 2.0 / 5.0)
        XCTAssertEqual(QualityMeasure.duplicateShare([1, 2, 3], rows: 3, dim: 1), 0)
    }

    func testTheSampleFollowsItemIdsNotLabels() {
        let ids = (0..<500).map { "item-\($0)" }
        let a = QualityMeasure.sample(ids: ids, deleted: [Bool](repeating: false, count: 500), size: 100, seed: 42)
        XCTAssertEqual(a, QualityMeasure.sample(ids: ids, deleted: [Bool](repeating: false, count: 500), size: 100, seed: 42))
        XCTAssertEqual(Set(a).count, 100)
        XCTAssertNotEqual(Set(a), Set(QualityMeasure.sample(ids: ids, deleted: [Bool](repeating: false, count: 500), size: 100, seed: 7)))
        // Reordered and with 20 new ids, most sampled items stay sampled.
        let shuffled = Array(ids.reversed()) + (0..<20).map { "new-\($0)" }
        let b = QualityMeasure.sample(ids: shuffled, deleted: [Bool](repeating: false, count: 520), size: 100, seed: 42)
        XCTAssertGreaterThanOrEqual(Set(a.map { ids[$0] }).intersection(b.map { shuffled[$0] }).count, 90)
        // Deleted labels are never sampled.
        var deleted = [Bool](repeating: false, count: 500)
        for i in a { deleted[i] = true }
        XCTAssertTrue(Set(QualityMeasure.sample(ids: ids, deleted: deleted, size: 100, seed: 42)).isDisjoint(with: a))
    }

    func testMeasureOnASmallIndex() throws {
        let n = 400, dim = 8
        var g = SyntheticVectors.Generator(seed: 3)
        var rows = (0..<(n * dim)).map { _ in Float(g.next() % 1000) / 1000 - 0.5 }
        for r in 0..<n { rows[r * dim + 7] = 0.25 }  // a constant column
        let index = try HNSWIndex(space: .cosine, dim: dim, M: 8, efConstruction: 100, capacity: n, seed: 1)
        try rows.withUnsafeBufferPointer { try index.add(rows: $0, labels: (0..<n).map(UInt64.init), options: BuildOptions(threads: 2)) }
        let ids = (0..<n).map { "id\($0)" }
        let names = (0..<dim).map { "c\($0)" }
        let deleted = [Bool](repeating: false, count: n)
        let facts = QualityMeasure.vectorFacts(vectors: rows, dim: dim, ids: ids, deleted: deleted, columns: names, sampleSize: 50, seed: 42)
        let m = try QualityMeasure.measure(
            facts: facts, ids: ids, deleted: deleted, index: index, space: .cosine,
            quality: .init(sampleSize: 50, ef: [400, 10], maxDrift: nil), efSearch: 40, seed: 42, threads: 2)
        let (q, items) = (m.report, m.sample)
        XCTAssertEqual(q.recall.map(\.ef), [10, 40, 400])
        XCTAssertEqual(q.recall.last?.recall, 1)  // ef = n finds everything
        XCTAssertEqual(q.efForRecall99.map { $0 <= 400 }, true)
        XCTAssertEqual(q.zeroVarianceColumns, ["c7"])
        XCTAssertEqual(q.columns[7].std, 0)
        XCTAssertEqual(q.columns[7].mean, 0.25)
        XCTAssertEqual(items.count, 50)
        XCTAssertTrue(items.allSatisfy { $0.neighbourIds.count == 10 && !$0.neighbourIds.contains($0.itemId) })
        XCTAssertTrue(items.allSatisfy { zip($0.similarities, $0.similarities.dropFirst()).allSatisfy { $0 >= $1 } })
        XCTAssertEqual(q.similarity.count, 500)
        XCTAssertEqual(q.similarity.histogram.counts.reduce(0, +), 500)
        XCTAssertEqual(q.graph.elements, n)
        XCTAssertEqual(q.graph.levelZeroDegreeHistogram.reduce(0, +), n)
        XCTAssertEqual(q.graph.reachableShare, 1)
        XCTAssertEqual(q.graphWarnings(), [])
        var degenerate = q
        degenerate.graph.liveReachable = 67
        degenerate.graph.liveReachableShare = 67.0 / Double(n)
        degenerate.duplicateShare = 0.999
        XCTAssertEqual(degenerate.graphWarnings().count, 2)
        var tiny = q
        tiny.graph.elements = 1
        tiny.similarity.count = 0
        XCTAssertEqual(tiny.graphWarnings().first, "only 1 live item: each has fewer than 10 neighbours, so the recall and similarity figures say little (no similarity was measured; its figures are 0)")
        XCTAssertTrue(degenerate.graphWarnings()[0].hasPrefix("only 67 of \(n) live items"))
        var check = RangeCheck()
        check.quality(q)
        XCTAssertNil(check.problem)
        var outOfRange = q
        outOfRange.recall[0].recall = 5
        check = RangeCheck()
        check.quality(outOfRange)
        XCTAssertEqual(check.problem, "quality.recall[0].recall is 5.0, expected a number in 0…1")
        // The sample file reads back exactly, escapes included.
        var odd = items
        odd[0].itemId = "tab\there\\n"
        let path = NSTemporaryDirectory() + "/quality-\(getpid()).tsv"
        try QualityMeasure.tsv(odd).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(try QualityMeasure.loadSample(path: path), odd)
    }

    func testDriftIsShownWithTheDigitsThatTellItFromTheLimit() {
        XCTAssertEqual(QualityReport.Drift.distinct(0.10004, from: 0.1), "0.10004")
        XCTAssertEqual(QualityReport.Drift.distinct(0.25, from: 0.1), "0.2500")
        XCTAssertEqual(QualityReport.Drift.distinct(0.1000000000001, from: 0.1), "0.1000000000001")
    }

    func testCountsAgreeWithTheirNouns() {
        XCTAssertEqual(RunReport.counted(1, "shard"), "1 shard")
        XCTAssertEqual(RunReport.counted(0, "shard"), "0 shards")
        XCTAssertEqual(RunReport.counted(2, "retry", "retries"), "2 retries")
    }

    func testReportEscapesText() {
        XCTAssertEqual(RunReport.escape("<a href='x'>\"&\"</a>"), "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;")
    }
}
