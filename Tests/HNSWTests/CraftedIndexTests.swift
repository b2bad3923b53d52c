import XCTest
@testable import HNSW

/// Crafted index files of the kinds reported against hnswlib's loader (hnswlib issue #673 and the
/// reports around it): each must be refused with HNSWError.corruptFile naming the file and the
/// problem, before anything is allocated from the bad field.
final class CraftedIndexTests: XCTestCase {
    let dim = 4
    let n = 120
    var original: [UInt8] = []
    var levels: [Int] = []

    // Layout for M = 4, dim = 4: maxM0 8, offsetData 36, label offset 52, stride 60, upper block 20.
    let stride = 60
    let upperBlock = 20
    func recordOffset(_ i: Int) -> Int { 96 + i * stride }
    var upperStart: Int { 96 + n * stride }
    var maxLevel: Int { levels.max() ?? -1 }

    /// The offset of element `i`'s upper-layer size prefix.
    func sizeOffset(_ i: Int) -> Int {
        var pos = upperStart
        for j in 0..<i { pos += 4 + levels[j] * upperBlock }
        return pos
    }

    override func setUpWithError() throws {
        let index = try buildIndex(randomRows(n, dim, seed: 41), dim: dim, space: .l2, M: 4, capacity: 150)
        let path = temporaryPath("crafted-\(UUID().uuidString).bin")
        // Build order, so that the file's element i is the index's element i (levels below).
        try index.save(to: path, layout: .asBuilt)
        original = try fileBytes(path)
        levels = index.elementLevels
        try? FileManager.default.removeItem(atPath: path)
        XCTAssertGreaterThanOrEqual(maxLevel, 1, "the fixture needs upper layers")
    }

    func put32(_ bytes: inout [UInt8], _ at: Int, _ v: UInt32) {
        for b in 0..<4 { bytes[at + b] = UInt8((v >> (8 * UInt32(b))) & 0xFF) }
    }

    func put64(_ bytes: inout [UInt8], _ at: Int, _ v: UInt64) {
        for b in 0..<8 { bytes[at + b] = UInt8((v >> (8 * UInt64(b))) & 0xFF) }
    }

    /// The message of the error loading `bytes`, or nil when they load. Fails on any error other
    /// than corruptFile naming the file.
    func loadError(_ bytes: [UInt8], line: UInt = #line) throws -> String? {
        let p = temporaryPath("crafted-\(UUID().uuidString).bin")
        try writeBytes(bytes, p)
        defer { try? FileManager.default.removeItem(atPath: p) }
        do {
            _ = try HNSWIndex.load(path: p, space: .l2, dim: dim)
            return nil
        } catch let e as HNSWError {
            guard case .corruptFile(let ep, let m) = e else {
                XCTFail("expected corruptFile, got \(e)", line: line)
                return "\(e)"
            }
            XCTAssertEqual(ep, p, "the error names the file", line: line)
            return m
        }
    }

    func assertRefused(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) throws {
        let message = try loadError(bytes, line: line)
        XCTAssertNotNil(message, "a crafted file loaded", line: line)
        XCTAssertTrue(message?.contains(fragment) ?? false, "'\(message ?? "nil")' lacks '\(fragment)'", line: line)
    }

    func testTheUncraftedFileLoads() throws {
        XCTAssertNil(try loadError(original))
    }

    // hnswlib #673: max_elements below cur_element_count made hnswlib allocate max_elements records
    // and read cur_element_count into them.
    func testMaxElementsBelowTheElementCount() throws {
        for maxElements: UInt64 in [0, 1, UInt64(n - 1)] {
            var b = original
            put64(&b, 8, maxElements)
            try assertRefused(b, "element count \(n) exceeds max_elements \(maxElements)")
        }
    }

    // Sizes and offsets whose arithmetic would wrap or allocate without bound.
    func testElementCountsBeyondTwoToThe32() throws {
        var b = original
        put64(&b, 16, 1 << 40)
        put64(&b, 8, 1 << 40)
        try assertRefused(b, "element count 1099511627776 or max_elements 1099511627776 exceeds 2^32 − 1")
        var c = original
        put64(&c, 8, UInt64.max)
        try assertRefused(c, "exceeds 2^32 − 1")
    }

    func testAHugeElementCountInASmallFileIsRefusedBeforeAllocating() throws {
        var b = original
        put64(&b, 8, UInt64(UInt32.max) - 1)
        put64(&b, 16, UInt64(UInt32.max) - 1)
        try assertRefused(b, "too short for 4294967294 elements of 60 bytes")
    }

    func testSizeDataPerElementThatWraps() throws {
        var b = original
        put64(&b, 24, UInt64.max)
        try assertRefused(b, "size_data_per_element is 18446744073709551615, expected label_offset + 8 = 60")
    }

    func testLabelOffsetThatWraps() throws {
        var b = original
        put64(&b, 32, UInt64.max - 3)  // label_offset + 8 would wrap to 4
        try assertRefused(b, "its vectors have dimension 4611686018427387894, but dimension 4 was given")
        var c = original
        put64(&c, 32, 20)  // below offsetData
        try assertRefused(c, "label_offset 20 and offsetData 36 do not describe a float32 vector")
    }

    func testOffsetDataAndLinkCapsThatWrap() throws {
        var b = original
        put64(&b, 40, UInt64.max)
        try assertRefused(b, "offsetData is 18446744073709551615 but maxM0 8 implies 36")
        var c = original
        put64(&c, 64, UInt64.max)  // maxM0 · 4 + 4 would wrap
        try assertRefused(c, "link capacities out of range")
        var d = original
        put64(&d, 56, 0)
        try assertRefused(d, "link capacities out of range (M 4, maxM 0, maxM0 8")
        var e = original
        put64(&e, 0, 96)
        try assertRefused(e, "offsetLevel0 is 96, expected 0")
    }

    func testBadMultAndEfConstruction() throws {
        var b = original
        put64(&b, 80, Double.nan.bitPattern)
        try assertRefused(b, "mult is nan")
        var c = original
        put64(&c, 88, 0)
        try assertRefused(c, "ef_construction is 0")
    }

    // Level lists whose sizes disagree with the header.
    func testUpperBlockSizeNotAMultipleOfTheListSize() throws {
        var b = original
        put32(&b, sizeOffset(3), 21)
        try assertRefused(b, "element 3 has an upper-layer block of 21 bytes, not a multiple of 20")
    }

    func testUpperBlockLongerThanTheFile() throws {
        var b = original
        let last = n - 1
        put32(&b, sizeOffset(last), UInt32((levels[last] + 1) * upperBlock))
        if levels[last] + 1 <= maxLevel {
            try assertRefused(b, "the file ends inside the upper-layer links of element \(last)")
        } else {
            try assertRefused(b, "element \(last) has level \(levels[last] + 1), above maxlevel \(maxLevel)")
        }
        var c = original
        put32(&c, sizeOffset(0), 4_294_967_280)  // the largest multiple of 20 below 2^32
        try assertRefused(c, "element 0 has level 214748364, above maxlevel \(maxLevel)")
    }

    func testUpperBlockShorterThanTheElementsLevels() throws {
        guard let high = levels.firstIndex(where: { $0 >= 1 }) else { return XCTFail("no upper-layer element") }
        var b = original
        put32(&b, sizeOffset(high), 0)
        XCTAssertNotNil(try loadError(b), "an element's links read as the next sizes must not load")
    }

    func testElementLevelAboveTheHeadersMaxLevel() throws {
        guard let top = levels.firstIndex(of: maxLevel) else { return XCTFail("no top element") }
        var b = original
        put32(&b, 48, UInt32(maxLevel - 1))
        try assertRefused(b, "element \(top) has level \(maxLevel), above maxlevel \(maxLevel - 1)")
    }

    func testMaxLevelOutOfRange() throws {
        for bad: Int32 in [-1, -7, 256, Int32.max] {
            var b = original
            put32(&b, 48, UInt32(bitPattern: bad))
            try assertRefused(b, "maxlevel \(bad) is out of range 0…255")
        }
        var c = original
        put32(&c, 48, UInt32(maxLevel + 1))
        try assertRefused(c, "maxlevel is \(maxLevel + 1) but the highest element level is \(maxLevel)")
    }

    // Link counts above maxM0 (layer 0) and maxM (upper layers).
    func testLinkCountAboveMaxM0() throws {
        for count: UInt32 in [9, 0xFFFF] {
            var b = original
            put32(&b, recordOffset(7), count)
            try assertRefused(b, "element 7 has \(count) links on layer 0, above the cap of 8")
        }
    }

    func testLinkCountAboveMaxMOnAnUpperLayer() throws {
        guard let high = levels.firstIndex(where: { $0 >= 1 }) else { return XCTFail("no upper-layer element") }
        var b = original
        put32(&b, sizeOffset(high) + 4, 5)
        try assertRefused(b, "element \(high) has 5 links on layer 1, above the cap of 4")
    }

    // Neighbour ids out of range, on layer 0 and above.
    func testNeighbourIdOutOfRangeOnLayer0() throws {
        for id in [UInt32(n), UInt32(150), UInt32.max] {
            var b = original
            put32(&b, recordOffset(9), 1)
            put32(&b, recordOffset(9) + 4, id)
            try assertRefused(b, "element 9 links to id \(id) on layer 0, but there are \(n) elements")
        }
    }

    func testNeighbourIdOutOfRangeOnAnUpperLayer() throws {
        guard let high = levels.firstIndex(where: { $0 >= 1 }) else { return XCTFail("no upper-layer element") }
        var b = original
        put32(&b, sizeOffset(high) + 4, 1)
        put32(&b, sizeOffset(high) + 8, UInt32(n) + 1)
        try assertRefused(b, "element \(high) links to id \(n + 1) on layer 1, but there are \(n) elements")
    }

    func testEntryPointOutOfRange() throws {
        var b = original
        put32(&b, 52, UInt32(n))
        try assertRefused(b, "entry point \(n) is not below the element count \(n)")
    }

    func testAnEmptyIndexWithAnEntryPoint() throws {
        var b = Array(original.prefix(96))
        put64(&b, 16, 0)
        try assertRefused(b, "an empty index must have maxlevel −1 and no entry point")
    }

    // Truncation inside every section: header, level-0 records, a size prefix, upper-layer links.
    func testTruncationAtEverySection() throws {
        guard let high = levels.lastIndex(where: { $0 >= 1 }) else { return XCTFail("no upper-layer element") }
        // The level-0 block and one size prefix per element must fit before any upper layer is read.
        let fixedPart = upperStart + 4 * n
        func expected(_ cut: Int, _ fragment: String) -> String {
            cut < 96 ? "shorter than the 96-byte header" : cut < fixedPart ? "too short for \(n) elements" : fragment
        }
        let cuts: [(Int, String)] = [
            (0, ""), (1, ""), (48, ""), (95, ""),
            (96, ""), (recordOffset(0) + 36, ""), (upperStart - 1, ""), (fixedPart - 1, ""),
            (sizeOffset(high) + 2, "the file ends before the upper-layer size of element \(high)"),
            (sizeOffset(high) + 4, "the file ends inside the upper-layer links of element \(high)"),
            (sizeOffset(high) + 4 + upperBlock * levels[high] - 1, "the file ends inside the upper-layer links of element \(high)"),
        ]
        for (cut, fragment) in cuts {
            try assertRefused(Array(original.prefix(cut)), expected(cut, fragment))
        }
        // And every 13th length: always refused, never a crash.
        for cut in Swift.stride(from: 0, to: original.count, by: 13) {
            XCTAssertNotNil(try loadError(Array(original.prefix(cut))), "a file cut at \(cut) bytes loaded")
        }
    }
}
