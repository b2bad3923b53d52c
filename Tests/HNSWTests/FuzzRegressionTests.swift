import XCTest
@testable import HNSW

/// Inputs the fuzz harnesses (Tests/fuzz, docs/reliability.md) flagged, kept as regression tests:
/// each committed input must now be refused with a clean error.
final class FuzzRegressionTests: XCTestCase {
    static let regressions = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("fuzz/regressions")

    func assemble(_ graph: [UInt8], count n: Int) throws -> HNSWIndex {
        let rows = [Float](repeating: 0.5, count: 2 * n)
        return try rows.withUnsafeBufferPointer { r in
            try graph.withUnsafeBytes { g in
                try HNSWIndex.assemble(space: .l2, dim: 2, M: 4, efConstruction: 16, seed: 100, rows: r,
                                       labels: (0..<UInt64(n)).map { $0 }, graph: g)
            }
        }
    }

    /// The wire harness's shard-graph mode: an empty graph whose entry point field is 5 assembled,
    /// although encodeGraph writes 0xFFFFFFFF there (the harness's re-encoding check caught it).
    func testEmptyShardGraphWithAnEntryPointIsRefused() throws {
        let input = try fileBytes(Self.regressions.appendingPathComponent("wire/empty-graph-with-entry-point").path)
        XCTAssertEqual(Array(input.prefix(2)), [2, 0], "wire harness mode 2 (a shard graph) of 0 items")
        let graph = Array(input.dropFirst(2))
        XCTAssertThrowsError(try assemble(graph, count: 0)) { e in
            XCTAssertEqual(e as? HNSWError, .invalidGraph("an empty graph has entry point 5, expected none (0xFFFFFFFF)"))
        }
        // The same graph with no entry point is what an empty shard encodes to, and assembles.
        var fixed = graph
        fixed.replaceSubrange(12..<16, with: [0xFF, 0xFF, 0xFF, 0xFF])
        let empty = try HNSWIndex(space: .l2, dim: 2, M: 4, efConstruction: 16, capacity: 1, seed: 100)
        XCTAssertEqual(empty.encodeGraph(), fixed)
        XCTAssertEqual(try assemble(fixed, count: 0).count, 0)
    }
}
