import Foundation
import XCTest
@testable import Shared

final class ParquetFileTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func temp(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("parquet-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func sampleColumns(_ n: Int) -> [ParquetWriteColumn] {
        var names = ByteArrays()
        for i in 0..<n { names.append(contentsOf: Array("item-\(i)".utf8)) }
        var cats = ByteArrays()
        for i in 0..<n { cats.append(contentsOf: Array(["red", "green", "blue", ""][i % 4].utf8)) }
        return [
            ParquetWriteColumn(name: "id", values: .int64((0..<n).map { Int64($0) * 1_000_000_007 })),
            ParquetWriteColumn(name: "qty", values: .int32((0..<n).map { Int32($0 % 1000) - 500 }), validity: (0..<n).map { $0 % 7 != 0 }),
            ParquetWriteColumn(name: "cost", values: .double((0..<n).map { Double($0) / 3 }), validity: (0..<n).map { $0 % 5 != 0 }),
            ParquetWriteColumn(name: "ratio", values: .float((0..<n).map { Float($0) * 0.25 })),
            ParquetWriteColumn(name: "ok", values: .boolean((0..<n).map { $0 % 3 == 0 }), validity: (0..<n).map { $0 % 11 != 0 }),
            ParquetWriteColumn(name: "name", values: .bytes(names), logicalType: .string),
            ParquetWriteColumn(name: "colour", values: .bytes(cats), validity: (0..<n).map { $0 % 9 != 0 }, logicalType: .string),
            ParquetWriteColumn(name: "day", values: .int32((0..<n).map { Int32($0) }), logicalType: .date),
        ]
    }

    func testWriterRoundTripsEveryTypeWithNullsAcrossRowGroups() throws {
        let n = 5000
        let cols = sampleColumns(n)
        for codec in [Codec.uncompressed, .snappy] {
            for dictionary in [true, false] {
                let path = temp("rt-\(codec)-\(dictionary).parquet")
                try ParquetWriter.write(cols, to: path, codec: codec, rowGroupRows: 1800, dictionary: dictionary)
                let r = try ParquetReader(path: path)
                XCTAssertEqual(r.rowCount, n)
                XCTAssertEqual(r.rowGroups.map(\.rows), [1800, 1800, 1400])
                let got = try r.read()
                XCTAssertEqual(got.map(\.descriptor.name), cols.map(\.name))
                for (g, w) in zip(got, cols) {
                    XCTAssertEqual(g.count, n)
                    XCTAssertEqual(g.validity, w.validity, w.name)
                    for i in 0..<n where w.validity?[i] ?? true {
                        XCTAssertEqual(ParquetJSON.cell(g, i), expected(w, i), "\(w.name) row \(i)")
                        if ParquetJSON.cell(g, i) != expected(w, i) { return }
                    }
                }
                if dictionary, case .dictionary(let codes, let values) = got[6].values {
                    XCTAssertEqual(values.count, 4, "one dictionary of distinct values across row groups")
                    XCTAssertEqual(codes[9], -1)
                } else if dictionary {
                    XCTFail("a dictionary-encoded string column keeps its dictionary")
                }
            }
        }
    }

    func expected(_ w: ParquetWriteColumn, _ i: Int) -> String {
        let c = ParquetColumnData(descriptor: ParquetColumnDescriptor(
            name: w.name, path: [w.name], physicalType: w.physicalType, typeLength: 0, logicalType: w.logicalType,
            maxDefinitionLevel: 0, maxRepetitionLevel: 0, isNested: false, leafIndex: 0), validity: nil, values: w.values, count: w.count)
        return ParquetJSON.cell(c, i)
    }

    func testRowGroupStreamingAndProjection() throws {
        let path = temp("stream.parquet")
        try ParquetWriter.write(sampleColumns(1000), to: path, rowGroupRows: 300)
        let r = try ParquetReader(path: path)
        var seen: [Int] = []
        try r.forEachRowGroup(columns: ["qty", "name"]) { g, cols in
            XCTAssertEqual(cols.map(\.descriptor.name), ["qty", "name"])
            seen.append(cols[0].count)
            XCTAssertEqual(ParquetJSON.cell(cols[1], 0), "\"item-\(g * 300)\"")
        }
        XCTAssertEqual(seen, [300, 300, 300, 100])
        XCTAssertThrowsError(try r.read(columns: ["nope"])) {
            XCTAssertEqual($0 as? ParquetError, .columnNotFound(path: path, column: "nope", available: sampleColumns(1).map(\.name)))
        }
    }

    func testFixturesFromPyarrowAndPolarsRead() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".parquet") }
        XCTAssertEqual(files.count, 6)
        for f in files {
            let r = try ParquetReader(path: Self.fixtures.appendingPathComponent(f).path)
            let cols = try r.read()
            XCTAssertEqual(cols.first?.count, 200, f)
            XCTAssertTrue(cols.allSatisfy { $0.count == 200 }, f)
        }
    }

    func testNonParquetAndEncryptedFilesAreRefusedByName() throws {
        let junk = temp("junk.parquet")
        try Data("hello, this is not parquet".utf8).write(to: URL(fileURLWithPath: junk))
        XCTAssertThrowsError(try ParquetReader(path: junk)) {
            XCTAssertTrue("\($0)".hasPrefix("\(junk): corrupt or not a Parquet file"), "\($0)")
        }
        var bytes = try Data(contentsOf: Self.fixtures.appendingPathComponent("polars_default.parquet"))
        bytes.replaceSubrange((bytes.count - 4)..<bytes.count, with: Data("PARE".utf8))
        let enc = temp("enc.parquet")
        try bytes.write(to: URL(fileURLWithPath: enc))
        XCTAssertThrowsError(try ParquetReader(path: enc)) { XCTAssertTrue("\($0)".contains("encrypted"), "\($0)") }
        XCTAssertThrowsError(try ParquetReader(path: temp("missing.parquet"))) { XCTAssertTrue("\($0)".contains("cannot open")) }
    }

    /// 12,000 damaged files: flipped bits, truncations, overwritten lengths. Each must read or fail
    /// with an error, never crash, hang or exhaust memory.
    func testRandomlyDamagedFilesNeverCrash() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.fixtures.path).filter { $0.hasSuffix(".parquet") }.sorted()
        var originals = try files.map { [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent($0))) }
        let written = temp("written.parquet")
        try ParquetWriter.write(sampleColumns(300), to: written, rowGroupRows: 128)
        originals.append([UInt8](try Data(contentsOf: URL(fileURLWithPath: written))))
        var state: UInt64 = 0x5EED
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let path = temp("mutant.parquet")
        var outcomes = [0, 0]
        for k in 0..<12_000 {
            var b = originals[k % originals.count]
            // Aim half the damage at the footer and page headers, where lengths live.
            let hot = next() % 2 == 0
            func spot() -> Int { hot ? max(0, b.count - 1 - next() % min(b.count, 600)) : next() % b.count }
            switch next() % 5 {
            case 0: b[spot()] ^= UInt8(1 << (next() % 8))
            case 1: b = Array(b.prefix(next() % b.count))
            case 2:
                let at = min(spot(), b.count - 4)
                let v = UInt32(truncatingIfNeeded: next())
                for j in 0..<4 { b[at + j] = UInt8(v >> (8 * UInt32(j)) & 0xFF) }
            case 3: b[spot()] = [0x00, 0xFF, 0x7F, 0x80][next() % 4]
            default:
                let at = spot()
                b[at] = UInt8(truncatingIfNeeded: next())
                b[(at + 1) % b.count] = UInt8(truncatingIfNeeded: next())
            }
            _ = FileManager.default.createFile(atPath: path, contents: Data(b))
            do {
                let r = try ParquetReader(path: path)
                _ = try r.read()
                outcomes[0] += 1
            } catch is ParquetError {
                outcomes[1] += 1
            }
        }
        XCTAssertEqual(outcomes[0] + outcomes[1], 12_000)
        XCTAssertGreaterThan(outcomes[1], 1000, "damage is detected")
    }
}
