import XCTest
@testable import HNSW

final class MergeTests: XCTestCase {
    /// Builds each shard, ships it through encodeGraph/assemble as a worker result would travel, and merges.
    func mergedIndex(_ rows: [Float], dim: Int, shards S: Int, threads: Int = 2, M: Int = 16) throws -> (HNSWIndex, MergeReport) {
        let n = rows.count / dim
        let labels = (0..<n).map { UInt64($0) * 7 + 3 }
        let shards = (0..<S).map { s in Array(stride(from: s, to: n, by: S)) }
        var graphs: [HNSWIndex] = []
        for members in shards {
            let sub = members.flatMap { rows[($0 * dim)..<($0 * dim + dim)] }
            let shardLabels = members.map { labels[$0] }
            let built = try HNSWIndex(space: .cosine, dim: dim, M: M, efConstruction: 100, capacity: members.count, seed: 42)
            try sub.withUnsafeBufferPointer { try built.add(rows: $0, labels: shardLabels, options: BuildOptions(threads: 2)) }
            let bytes = built.encodeGraph()
            graphs.append(try sub.withUnsafeBufferPointer { r in
                try bytes.withUnsafeBytes {
                    try HNSWIndex.assemble(space: .cosine, dim: dim, M: M, efConstruction: 100, seed: 42, rows: r, labels: shardLabels, graph: $0)
                }
            })
        }
        return try rows.withUnsafeBufferPointer {
            try HNSWIndex.merge(space: .cosine, dim: dim, M: M, efConstruction: 100, seed: 42, rows: $0, labels: labels,
                                shards: shards, graphs: graphs, options: MergeOptions(threads: threads))
        }
    }

    func testMergedIndexKeepsRecallCapsAndReachability() throws {
        let dim = 16, n = 6000
        let rows = randomRows(n, dim, seed: 21)
        let single = try HNSWIndex(space: .cosine, dim: dim, M: 16, efConstruction: 100, capacity: n, seed: 42)
        let labels = (0..<n).map { UInt64($0) * 7 + 3 }
        try rows.withUnsafeBufferPointer { try single.add(rows: $0, labels: labels, options: BuildOptions(threads: 2)) }
        let (merged, report) = try mergedIndex(rows, dim: dim, shards: 4)
        XCTAssertEqual(report.crossSearches, n * 3)
        let queries = randomRows(200, dim, seed: 22)
        let truth = exactTopK(rows, queries, dim: dim, k: 10, space: .cosine).map { $0.map { $0 * 7 + 3 } }
        func recallOf(_ index: HNSWIndex) throws -> Double {
            let found = try queries.withUnsafeBufferPointer { try index.searchBatch($0, k: 10, ef: 100, threads: 2) }
            return ExactSearch.recall(found, truth: truth)
        }
        let r1 = try recallOf(single), r2 = try recallOf(merged)
        XCTAssertGreaterThan(r2, r1 - 0.02, "merged recall \(r2) vs single \(r1)")
        let stats = merged.statistics()
        XCTAssertEqual(stats.reachableFromEntry, n)
        XCTAssertLessThanOrEqual(stats.layers[0].maxDegree, 32)
        for l in stats.layers.dropFirst() { XCTAssertLessThanOrEqual(l.maxDegree, 16) }
        // The saved file is a valid hnswlib file.
        let path = temporaryPath("merged.bin")
        try merged.save(to: path)
        XCTAssertEqual(try HNSWIndex.load(path: path, space: .cosine, dim: dim).count, n)
    }

    func testMergeIsByteIdenticalForAnyThreadCount() throws {
        let dim = 8
        let rows = randomRows(3000, dim, seed: 23)
        var files: [[UInt8]] = []
        for t in [1, 3] {
            let path = temporaryPath("merge-\(t).bin")
            try mergedIndex(rows, dim: dim, shards: 3, threads: t).0.save(to: path)
            files.append(try fileBytes(path))
        }
        XCTAssertTrue(files[0] == files[1])
    }

    /// The coordinator's merge reads each shard's encoded graph one at a time: the same file as the
    /// merge of decoded graphs, and a damaged shard file is an error naming the shard.
    func testMergeFromEncodedShardGraphsWritesTheSameBytes() throws {
        let dim = 8, n = 3000, S = 3, M = 8
        let rows = randomRows(n, dim, seed: 29)
        let labels = (0..<n).map { UInt64($0) * 7 + 3 }
        let shards = (0..<S).map { s in Array(stride(from: s, to: n, by: S)) }
        var graphs: [HNSWIndex] = [], encoded: [[UInt8]] = []
        for members in shards {
            let sub = members.flatMap { rows[($0 * dim)..<($0 * dim + dim)] }
            let built = try HNSWIndex(space: .cosine, dim: dim, M: M, efConstruction: 60, capacity: members.count, seed: 42)
            try sub.withUnsafeBufferPointer { try built.add(rows: $0, labels: members.map { labels[$0] }, options: BuildOptions(threads: 2)) }
            graphs.append(built)
            encoded.append(built.encodeGraph())
        }
        // A refinement of a few elements, with offers, as phase 2 would send.
        let refined = RefineOutput(lists: [RefinedList(id: 5, links: [1, 2, 3, 400]), RefinedList(id: 2999, links: [7, 8])],
                                   offers: [UInt64(10) << 32 | 5, UInt64(11) << 32 | 2999])
        func bytes(_ index: HNSWIndex) throws -> [UInt8] {
            let path = temporaryPath("merge-\(UUID().uuidString).bin")
            try index.save(to: path)
            return try fileBytes(path)
        }
        func reader(_ bytes: [UInt8]) throws -> FileIO.Reader {
            let path = temporaryPath("graph-\(UUID().uuidString).bin")
            try writeBytes(bytes, path)
            return try FileIO.Reader(path: path)
        }
        var asked: [Int] = []
        let (decoded, r1) = try rows.withUnsafeBufferPointer {
            try HNSWIndex.merge(space: .cosine, dim: dim, M: M, efConstruction: 60, seed: 42, rows: $0, labels: labels, shards: shards,
                                graphs: graphs, refined: refined, options: MergeOptions(threads: 2))
        }
        // The same refinement arriving per shard: shard 0 and 2 each sent one list and one offer.
        let perShard = [0: RefineOutput(lists: [refined.lists[0]], offers: [refined.offers[0]]),
                        2: RefineOutput(lists: [refined.lists[1]], offers: [refined.offers[1]])]
        var refinedAsked: [Int] = []
        let (streamed, r2) = try rows.withUnsafeBufferPointer {
            try HNSWIndex.merge(space: .cosine, dim: dim, M: M, efConstruction: 60, seed: 42, rows: RowCursor($0, dim: dim), labels: labels,
                                shards: shards, options: MergeOptions(threads: 2),
                                graph: { s in asked.append(s); return try reader(encoded[s]) },
                                refinement: { s in refinedAsked.append(s); return perShard[s] })
        }
        XCTAssertEqual(asked, [0, 1, 2])
        XCTAssertEqual(refinedAsked, [0, 1, 2])
        XCTAssertEqual(r1.reverseOffers, r2.reverseOffers)
        XCTAssertTrue(try bytes(decoded) == bytes(streamed))
        // Damaged shard files: truncated, an id out of the shard, trailing bytes.
        var outOfRange = encoded[1]
        let firstList = 24 + shards[1].count + 2
        outOfRange.replaceSubrange(firstList..<(firstList + 4), with: [0xFF, 0xFF, 0, 0])
        for (damaged, words) in [(Array(encoded[1].dropLast(3)), "shard 1: element"), (outOfRange, "shard 1: element 0 links to 65535"),
                                 (encoded[1] + [0], "shard 1: it has 1 bytes after the last list")] {
            XCTAssertThrowsError(try rows.withUnsafeBufferPointer {
                try HNSWIndex.merge(space: .cosine, dim: dim, M: M, efConstruction: 60, seed: 42, rows: RowCursor($0, dim: dim), labels: labels,
                                    shards: shards, graph: { s in try reader(s == 1 ? damaged : encoded[s]) }, refinement: { perShard[$0] })
            }) { error in
                XCTAssertTrue("\(error)".contains(words), "\(error)")
            }
        }
    }

    func testAssembleRefusesBadGraphs() throws {
        let dim = 4, n = 300
        let rows = randomRows(n, dim, seed: 24)
        let labels = (0..<n).map(UInt64.init)
        let built = try buildIndex(rows, dim: dim, space: .cosine, M: 8)
        let good = built.encodeGraph()
        func refusal(_ bytes: [UInt8], labels: [UInt64] = labels) -> String? {
            do {
                _ = try rows.withUnsafeBufferPointer { r in
                    try bytes.withUnsafeBytes {
                        try HNSWIndex.assemble(space: .cosine, dim: dim, M: 8, efConstruction: 100, seed: 42, rows: r, labels: labels, graph: $0)
                    }
                }
                return nil
            } catch { return "\(error)" }
        }
        XCTAssertNil(refusal(good))
        XCTAssertTrue(refusal(Array(good.dropLast()))?.contains("ends") ?? false)
        XCTAssertTrue(refusal(good + [0])?.contains("unexpected bytes") ?? false)
        var wrongLevel = good
        wrongLevel[24] = wrongLevel[24] &+ 1
        XCTAssertTrue(refusal(wrongLevel)?.contains("hashes to") ?? false)
        var badID = good
        let firstList = 24 + n
        badID[firstList + 2] = 0xFF; badID[firstList + 3] = 0xFF; badID[firstList + 4] = 0xFF; badID[firstList + 5] = 0x7F
        XCTAssertNotNil(refusal(badID))
        XCTAssertTrue(refusal(good, labels: Array(labels.reversed()))?.contains("level") ?? false)
        // Random damage never crashes.
        var g = SplitMix(seed: 5)
        for _ in 0..<2000 {
            var b = good
            for _ in 0..<(1 + Int(g.next() % 4)) { b[Int(g.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: g.next()) }
            if g.next() % 3 == 0 { b = Array(b.prefix(Int(g.next() % UInt64(b.count)))) }
            _ = refusal(b)
        }
    }
}
