import XCTest
@testable import HNSW

final class BuildTests: XCTestCase {
    func testDeterministicBuildIsByteIdenticalForAnyThreadCount() throws {
        let dim = 16
        let rows = randomRows(5000, dim, seed: 10)
        var files: [[UInt8]] = []
        for t in [1, 2, 3, 8] {
            let path = temporaryPath("det-\(t).bin")
            try buildIndex(rows, dim: dim, space: .cosine, threads: t).save(to: path)
            files.append(try fileBytes(path))
        }
        for (i, f) in files.enumerated().dropFirst() {
            XCTAssertTrue(f == files[0], "thread count \([1, 2, 3, 8][i]) differs from 1 thread at byte \(zip(f, files[0]).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? -1)")
        }
    }

    func testListsRespectCapsAndEveryElementIsReachable() throws {
        let dim = 8
        let index = try buildIndex(randomRows(4000, dim, seed: 11), dim: dim, M: 6)
        let s = index.statistics()
        XCTAssertEqual(s.reachableFromEntry, 4000)
        XCTAssertLessThanOrEqual(s.layers[0].maxDegree, 12)
        for l in s.layers.dropFirst() { XCTAssertLessThanOrEqual(l.maxDegree, 6) }
        XCTAssertEqual(s.levelHistogram.reduce(0, +), 4000)
    }

    func testDeletedElementsAreNeverReturned() throws {
        let dim = 8
        let rows = randomRows(2000, dim, seed: 12)
        let index = try buildIndex(rows, dim: dim)
        let deleted = Set((0..<2000).filter { $0 % 3 == 0 }.map(UInt64.init))
        for l in deleted { try index.markDeleted(l) }
        XCTAssertEqual(index.deletedCount, deleted.count)
        XCTAssertThrowsError(try index.markDeleted(0))
        for i in 0..<100 {
            let q = Array(rows[(i * dim)..<((i + 1) * dim)])
            let got = try index.search(q, k: 20, ef: 200)
            XCTAssertEqual(got.count, 20)
            XCTAssertTrue(got.allSatisfy { !deleted.contains($0.label) })
        }
        try index.unmarkDeleted(3)
        XCTAssertEqual(try index.search(Array(rows[(3 * dim)..<(4 * dim)]), k: 1, ef: 50).first?.label, 3)
        let path = temporaryPath("deleted.bin")
        try index.save(to: path)
        let loaded = try HNSWIndex.load(path: path, space: .l2, dim: dim)
        XCTAssertEqual(loaded.deletedCount, deleted.count - 1)
        XCTAssertTrue(try loaded.isMarkedDeleted(6))
        XCTAssertFalse(try loaded.isMarkedDeleted(3))
    }

    func testUpdateMovesAnElementAndKeepsRecall() throws {
        let dim = 8
        var rows = randomRows(3000, dim, seed: 13)
        let index = try buildIndex(rows, dim: dim, efConstruction: 200)
        // Move 100 elements to new places, as hnswlib's addPoint on an existing label does.
        let moved = randomRows(100, dim, seed: 14)
        for j in 0..<100 {
            let v = Array(moved[(j * dim)..<((j + 1) * dim)])
            try index.add(v, label: UInt64(j * 7))
            rows.replaceSubrange((j * 7 * dim)..<((j * 7 + 1) * dim), with: v)
        }
        XCTAssertEqual(index.count, 3000)
        for j in 0..<100 {
            let hit = try index.search(Array(moved[(j * dim)..<((j + 1) * dim)]), k: 1, ef: 100)
            XCTAssertEqual(hit.first?.label, UInt64(j * 7))
            XCTAssertEqual(hit.first?.distance ?? 1, 0, accuracy: 1e-5)
        }
        let queries = randomRows(200, dim, seed: 15)
        let truth = exactTopK(rows, queries, dim: dim, k: 10, space: .l2)
        let found = try queries.withUnsafeBufferPointer { try index.searchBatch($0, k: 10, ef: 100, threads: 2) }
        XCTAssertGreaterThanOrEqual(recall(found, truth), 0.97)
        XCTAssertEqual(index.statistics().reachableFromEntry, 3000)
    }

    func testResizeGrowsCapacityAndRefusesToShrinkBelowCount() throws {
        let dim = 4
        let index = try buildIndex(randomRows(100, dim, seed: 16), dim: dim)
        XCTAssertThrowsError(try index.add([1, 2, 3, 4], label: 100)) {
            XCTAssertEqual($0 as? HNSWError, .capacityExceeded(capacity: 100, needed: 101))
        }
        XCTAssertThrowsError(try index.resize(capacity: 50))
        try index.resize(capacity: 200)
        try index.add([1, 2, 3, 4], label: 100)
        XCTAssertEqual(index.capacity, 200)
        XCTAssertEqual(try index.search([1, 2, 3, 4], k: 1).first?.label, 100)
    }

    func testDuplicateLabelsInOneCallAreRefused() throws {
        let index = try HNSWIndex(space: .l2, dim: 2, capacity: 10)
        let rows: [Float] = [0, 0, 1, 1]
        XCTAssertThrowsError(try rows.withUnsafeBufferPointer { try index.add(rows: $0, labels: [5, 5]) }) {
            XCTAssertEqual($0 as? HNSWError, .duplicateLabel(5))
        }
    }

    func testIncrementalAddsEqualRecallOfOneBuild() throws {
        let dim = 16
        let rows = randomRows(6000, dim, seed: 17)
        let index = try HNSWIndex(space: .l2, dim: dim, M: 16, efConstruction: 200, capacity: 6000, seed: 42)
        try rows.withUnsafeBufferPointer { p in
            for chunk in 0..<6 {
                let part = UnsafeBufferPointer(rebasing: p[(chunk * 1000 * dim)..<((chunk + 1) * 1000 * dim)])
                try index.add(rows: part, labels: (chunk * 1000..<(chunk + 1) * 1000).map(UInt64.init),
                              options: BuildOptions(threads: 2))
            }
        }
        let queries = randomRows(200, dim, seed: 18)
        let truth = exactTopK(rows, queries, dim: dim, k: 10, space: .l2)
        let found = try queries.withUnsafeBufferPointer { try index.searchBatch($0, k: 10, ef: 100, threads: 2) }
        XCTAssertGreaterThanOrEqual(recall(found, truth), 0.97)
    }
}
