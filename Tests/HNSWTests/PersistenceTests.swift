import XCTest
@testable import HNSW

final class PersistenceTests: XCTestCase {
    let dim = 4
    let n = 300
    var rows: [Float] = []
    var path = ""
    var original: [UInt8] = []
    var index: HNSWIndex!

    override func setUpWithError() throws {
        rows = randomRows(n, dim, seed: 20)
        index = try buildIndex(rows, dim: dim, space: .l2, M: 4, capacity: 400)
        path = temporaryPath("persist-\(UUID().uuidString).bin")
        // Build order, so that the file's element i is the index's element i (the byte pokes below).
        try index.save(to: path, layout: .asBuilt)
        original = try fileBytes(path)
    }

    /// XCTest keeps every test case object until the process ends: the index is released here, so
    /// that its deinit runs after each test and LeakSanitizer sees whether it frees everything
    /// (Tests/sanitize/lsan.supp).
    override func tearDown() {
        index = nil
        try? FileManager.default.removeItem(atPath: path)
        super.tearDown()
    }

    // Layout facts for M = 4, dim = 4: maxM0 8, offsetData 36, label offset 52, stride 60.
    var stride: Int { 60 }
    func recordOffset(_ i: Int) -> Int { 96 + i * stride }
    var upperStart: Int { 96 + n * stride }

    func put32(_ bytes: inout [UInt8], _ at: Int, _ v: UInt32) {
        for b in 0..<4 { bytes[at + b] = UInt8((v >> (8 * UInt32(b))) & 0xFF) }
    }

    func put64(_ bytes: inout [UInt8], _ at: Int, _ v: UInt64) {
        for b in 0..<8 { bytes[at + b] = UInt8((v >> (8 * UInt64(b))) & 0xFF) }
    }

    /// Loads `bytes` and returns the error message, or nil if it loaded.
    func loadError(_ bytes: [UInt8], dim: Int? = nil) throws -> String? {
        let p = temporaryPath("bad-\(UUID().uuidString).bin")
        try writeBytes(bytes, p)
        defer { try? FileManager.default.removeItem(atPath: p) }
        do {
            _ = try HNSWIndex.load(path: p, space: .l2, dim: dim ?? self.dim)
            return nil
        } catch let e as HNSWError {
            guard case .corruptFile(let ep, _) = e else { return "unexpected error \(e)" }
            XCTAssertEqual(ep, p, "the error names the file")
            return "\(e)"
        }
    }

    func assertRefused(_ bytes: [UInt8], dim: Int? = nil, _ fragment: String, line: UInt = #line) throws {
        let message = try loadError(bytes, dim: dim)
        XCTAssertNotNil(message, "a corrupt file loaded", line: line)
        XCTAssertTrue(message?.contains(fragment) ?? false, "\(message ?? "nil") lacks \(fragment)", line: line)
    }

    func testHeaderMatchesTheHnswlibLayout() throws {
        let h = try HNSWIndex.readHeader(path: path)
        XCTAssertEqual(h.offsetLevel0, 0)
        XCTAssertEqual(h.maxElements, 400)
        XCTAssertEqual(h.elementCount, UInt64(n))
        XCTAssertEqual(h.offsetData, 36)
        XCTAssertEqual(h.labelOffset, 52)
        XCTAssertEqual(h.sizeDataPerElement, 60)
        XCTAssertEqual(h.maxM, 4)
        XCTAssertEqual(h.maxM0, 8)
        XCTAssertEqual(h.M, 4)
        XCTAssertEqual(h.mult, 1 / log(4.0))
        XCTAssertEqual(h.efConstruction, 100)
        let levels = index.elementLevels
        let upperBytes = levels.reduce(0) { $0 + $1 * (4 * 4 + 4) }
        XCTAssertEqual(original.count, 96 + n * 60 + 4 * n + upperBytes)
        XCTAssertEqual(Int(h.maxLevel), levels.max())
        XCTAssertEqual(levels[Int(h.entryPoint)], levels.max())
    }

    func testSaveLoadSaveIsByteIdenticalAndSearchesAlike() throws {
        let loaded = try HNSWIndex.load(path: path, space: .l2, dim: dim)
        let again = temporaryPath("again.bin")
        try loaded.save(to: again, layout: .asBuilt)
        XCTAssertEqual(try fileBytes(again), original)
        for i in 0..<20 {
            let q = Array(rows[(i * dim)..<((i + 1) * dim)])
            XCTAssertEqual(try loaded.search(q, k: 5, ef: 50), try index.search(q, k: 5, ef: 50))
        }
        XCTAssertEqual(loaded.labels, index.labels)
    }

    /// The locality layout renumbers the elements and nothing else a search can see: the same
    /// labels, distances and delete marks, the entry point first, the upper-layer elements before
    /// level 0; and numbering a file that already has it changes no byte.
    func testLocalityLayoutRenumbersWithoutChangingResults() throws {
        try index.markDeleted(7)
        let bfs = temporaryPath("bfs-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(atPath: bfs) }
        try index.save(to: bfs)
        let first = try fileBytes(bfs)
        XCTAssertEqual(first.count, original.count)
        XCTAssertNotEqual(first, original, "the fixture is expected to be renumbered")
        let loaded = try HNSWIndex.load(path: bfs, space: .l2, dim: dim)
        XCTAssertEqual(loaded.entryPoint, 0)
        XCTAssertEqual(loaded.labels.sorted(), index.labels.sorted())
        XCTAssertNotEqual(loaded.labels, index.labels)
        let levels = loaded.elementLevels
        let firstGround = levels.firstIndex(of: 0) ?? levels.count
        XCTAssertTrue(levels[..<firstGround].allSatisfy { $0 > 0 } && levels[firstGround...].allSatisfy { $0 == 0 })
        XCTAssertEqual(levels.filter { $0 > 0 }.count, index.elementLevels.filter { $0 > 0 }.count)
        XCTAssertTrue(try loaded.isMarkedDeleted(7))
        XCTAssertEqual(loaded.deletedCount, 1)
        for i in 0..<n {
            let q = Array(rows[(i * dim)..<((i + 1) * dim)])
            XCTAssertEqual(try loaded.search(q, k: 10, ef: 20), try index.search(q, k: 10, ef: 20), "query \(i)")
        }
        try loaded.save(to: bfs)
        XCTAssertEqual(try fileBytes(bfs), first, "load → save of a locality file is byte-identical")
    }

    func testEmptyIndexRoundTrips() throws {
        let empty = try HNSWIndex(space: .ip, dim: 3, capacity: 5)
        let p = temporaryPath("empty.bin")
        try empty.save(to: p)
        XCTAssertEqual(try fileBytes(p).count, 96)
        let loaded = try HNSWIndex.load(path: p, space: .ip, dim: 3)
        XCTAssertEqual(loaded.count, 0)
        XCTAssertNil(loaded.entryPoint)
    }

    func testSaveIsAtomicWhenTheFolderIsMissing() throws {
        XCTAssertThrowsError(try index.save(to: "/nonexistent-folder/x.bin")) { e in
            XCTAssertTrue("\(e)".contains("/nonexistent-folder/x.bin"))
        }
        let p = temporaryPath("keep.bin")
        try writeBytes([1, 2, 3], p)
        let small = try HNSWIndex(space: .l2, dim: 4, capacity: 1)
        try small.save(to: p)
        XCTAssertEqual(try fileBytes(p).count, 96)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: (p as NSString).deletingLastPathComponent)
        XCTAssertFalse(leftovers.contains { $0.contains(".tmp-") })
    }

    func testTruncatedFilesAreRefused() throws {
        try assertRefused(Array(original.prefix(50)), "shorter than the 96-byte header")
        try assertRefused(Array(original.prefix(96 + 10 * stride)), "too short for 300 elements")
        try assertRefused(Array(original.dropLast()), "ends")
        try assertRefused([], "shorter than the 96-byte header")
    }

    func testExtraByteIsRefused() throws {
        try assertRefused(original + [0], "1 unexpected bytes after the last element")
    }

    func testWrongDimensionIsRefused() throws {
        try assertRefused(original, dim: 5, "its vectors have dimension 4, but dimension 5 was given")
    }

    func testLinkCountAboveTheCapIsRefused() throws {
        var b = original
        put32(&b, recordOffset(5), 9)
        try assertRefused(b, "element 5 has 9 links on layer 0, above the cap of 8")
    }

    func testLinkIdOutOfRangeIsRefused() throws {
        var b = original
        put32(&b, recordOffset(5), 1)
        put32(&b, recordOffset(5) + 4, UInt32(n + 3))
        try assertRefused(b, "element 5 links to id 303 on layer 0, but there are 300 elements")
    }

    func testDuplicateLabelsAreRefused() throws {
        var b = original
        put64(&b, recordOffset(1) + 52, 0)
        try assertRefused(b, "label 0 appears twice")
    }

    func testEntryPointBelowTheTopIsRefused() throws {
        let levels = index.elementLevels
        guard let low = levels.firstIndex(of: 0) else { return XCTFail("no level-0 element") }
        var b = original
        put32(&b, 52, UInt32(low))
        try assertRefused(b, "entry point \(low) has level 0")
        var c = original
        put32(&c, 48, UInt32(levels.max()! + 1))
        try assertRefused(c, "maxlevel is \(levels.max()! + 1)")
    }

    func testUpperLinkToAnElementWithoutThatLayerIsRefused() throws {
        let levels = index.elementLevels
        guard let high = levels.firstIndex(where: { $0 >= 1 }), let low = levels.firstIndex(of: 0) else {
            return XCTFail("levels lack variety")
        }
        var pos = upperStart
        for i in 0..<high { pos += 4 + levels[i] * 20 }
        var b = original
        put32(&b, pos + 4, 1)
        put32(&b, pos + 8, UInt32(low))
        try assertRefused(b, "element \(high) links to element \(low) on layer 1, which only reaches layer 0")
        var c = original
        put32(&c, pos, 7)
        try assertRefused(c, "not a multiple of 20")
    }

    func testUnknownFlagBitsAreRefused() throws {
        var b = original
        b[recordOffset(2) + 3] = 0x80
        try assertRefused(b, "unknown flag bits")
    }

    func testHeaderFieldsThatDisagreeAreRefused() throws {
        var b = original
        put64(&b, 24, 64)
        try assertRefused(b, "size_data_per_element is 64")
        var c = original
        put64(&c, 16, 500)
        try assertRefused(c, "exceeds max_elements 400")
        var d = original
        put64(&d, 64, 9)
        try assertRefused(d, "offsetData is 36 but maxM0 9 implies 40")
    }

    /// Random damage never crashes the loader: each case is an error or a valid, searchable index.
    func testRandomlyMutatedFilesNeverCrash() throws {
        var state: UInt64 = 99
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var loaded = 0
        for _ in 0..<3000 {
            var b = original
            switch next() % 4 {
            case 0: b[next() % b.count] ^= UInt8(1 << (next() % 8))
            case 1: b = Array(b.prefix(next() % b.count))
            case 2: put32(&b, next() % (b.count - 4), UInt32(truncatingIfNeeded: next()))
            default:
                let at = upperStart + next() % (b.count - upperStart - 4)
                put32(&b, at, UInt32(next() % 200))
            }
            if try loadError(b) == nil {
                loaded += 1
                let p = temporaryPath("fuzz-ok.bin")
                try writeBytes(b, p)
                let idx = try HNSWIndex.load(path: p, space: .l2, dim: dim)
                _ = try idx.search([0, 0, 0, 0], k: 10, ef: 20)
            }
        }
        XCTAssertLessThan(loaded, 3000, "some mutations must be caught")
    }
}
