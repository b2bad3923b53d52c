import CCompression
import XCTest
@testable import Shared

final class ParquetDecodingTests: XCTestCase {
    func withBytes<T>(_ b: [UInt8], _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try b.withUnsafeBytes(body)
    }

    func testThriftCompactRoundTripAndSkipsUnknownFields() throws {
        var w = ThriftWriter()
        w.i32(1, -7)
        w.string(4, "column")
        w.i64(20, 1 << 40)          // a long delta: written with an explicit id
        w.listHeader(21, type: 5, count: 3)
        [1, -2, 300].forEach { w.rawI32($0) }
        w.beginStruct(22)
        w.bool(1, true)
        w.endStruct()
        w.i32(5, 3)                 // a negative delta after id 22
        w.finish()
        var seen: [Int16: String] = [:]
        try withBytes(w.bytes) { buf in
            var r = ThriftReader(buf)
            try r.readStruct { r, id, t in
                switch id {
                case 1: seen[1] = String(try r.i32())
                case 4: seen[4] = try r.string()
                case 20: seen[20] = String(try r.zigzag())
                case 5: seen[5] = String(try r.i32())
                default: return false  // 21 and 22 are skipped generically
                }
                _ = t
                return true
            }
            XCTAssertEqual(r.remaining, 0)
        }
        XCTAssertEqual(seen, [1: "-7", 4: "column", 20: String(1 << 40), 5: "3"])
    }

    func testThriftRefusesTruncatedAndOversizedInput() {
        XCTAssertThrowsError(try withBytes([0x18, 0x10, 0x41]) { buf in  // a 16-byte string with 1 byte
            var r = ThriftReader(buf)
            try r.readStruct { r, _, t in try r.skip(t); return true }
        }) { XCTAssertTrue(($0 as? DecodeError)?.message.contains("runs past the end") ?? false) }
        XCTAssertThrowsError(try withBytes([0x19, 0xF5, 0xFF, 0xFF, 0xFF, 0x0F]) { buf in  // a list of 2^32 i32s
            var r = ThriftReader(buf)
            try r.readStruct { r, _, t in try r.skip(t); return true }
        }) { XCTAssertTrue(($0 as? DecodeError)?.message.contains("longer than the data") ?? false) }
        let deep = [UInt8](repeating: 0x1C, count: 200)  // structs nested 200 deep
        XCTAssertThrowsError(try withBytes(deep) { buf in
            var r = ThriftReader(buf)
            try r.readStruct { r, _, t in try r.skip(t); return true }
        }) { XCTAssertTrue(($0 as? DecodeError)?.message.contains("nested more than 64") ?? false) }
    }

    func testHybridDecodesBitPackedAndRLERuns() throws {
        // Bit-packed 0…7 at width 3 (the spec's example), then an RLE run of five 4s.
        var out: [UInt32] = []
        try withBytes([0x03, 0x88, 0xC6, 0xFA, 0x0A, 0x04]) { try Hybrid.decode($0, width: 3, count: 13, into: &out) }
        XCTAssertEqual(out, [0, 1, 2, 3, 4, 5, 6, 7, 4, 4, 4, 4, 4])
        try withBytes([0x03, 0x88, 0xC6, 0xFA]) { try Hybrid.decode($0, width: 3, count: 5, into: &out) }
        XCTAssertEqual(out, [0, 1, 2, 3, 4], "a run longer than needed is cut")
        XCTAssertThrowsError(try withBytes([0x0A, 0x09]) { try Hybrid.decode($0, width: 3, count: 5, into: &out) })
        XCTAssertThrowsError(try withBytes([0x03, 0x88]) { try Hybrid.decode($0, width: 3, count: 8, into: &out) })
        XCTAssertThrowsError(try withBytes([0x0A, 0x01]) { try Hybrid.decode($0, width: 1, count: 6, into: &out) },
                             "the stream ends before the count")
        XCTAssertEqual(Hybrid.width(for: 0), 0)
        XCTAssertEqual(Hybrid.width(for: 1), 1)
        XCTAssertEqual(Hybrid.width(for: 255), 8)
    }

    func testDeltaBinaryPackedMatchesTheSpecExamples() throws {
        let ones: [UInt8] = [0x80, 0x01, 0x04, 0x05, 0x02, 0x02, 0, 0, 0, 0]
        XCTAssertEqual(try withBytes(ones) { try DeltaBinaryPacked.decode($0, expected: 5).values }, [1, 2, 3, 4, 5])
        var mixed: [UInt8] = [0x80, 0x01, 0x04, 0x08, 0x0E, 0x03, 2, 0, 0, 0, 0xC0, 0x3F]
        mixed += [UInt8](repeating: 0, count: 6)
        let (v, used) = try withBytes(mixed) { try DeltaBinaryPacked.decode($0, expected: 8) }
        XCTAssertEqual(v, [7, 5, 3, 1, 2, 3, 4, 5])
        XCTAssertEqual(used, mixed.count)
        XCTAssertThrowsError(try withBytes(ones) { try DeltaBinaryPacked.decode($0, expected: 6) })
        XCTAssertThrowsError(try withBytes([0x81, 0x01, 0x04, 0x05, 0x02]) { try DeltaBinaryPacked.decode($0, expected: 5) },
                             "block size 129 is not a multiple of 128")
    }

    func testDeltaLengthAndDeltaByteArrays() throws {
        let d = ParquetColumnDescriptor(name: "s", path: ["s"], physicalType: .byteArray, typeLength: 0, logicalType: .string,
                                        maxDefinitionLevel: 0, maxRepetitionLevel: 0, isNested: false, leafIndex: 0)
        // Lengths 5, 5, 6, 6: first 5, deltas 0, 1, 0 (min 0, width 1).
        let lengths: [UInt8] = [0x80, 0x01, 0x04, 0x04, 0x0A, 0x00, 1, 0, 0, 0, 0x02, 0, 0, 0]
        guard case .bytes(let a) = try withBytes(lengths + Array("HelloWorldFoobarABCDEF".utf8), {
            try ValueDecoder.decode(6, $0, count: 4, column: d)
        }) else { return XCTFail() }
        XCTAssertEqual((0..<4).map { a.string($0) }, ["Hello", "World", "Foobar", "ABCDEF"])
        // axis, axle, babble, babyhood: prefixes 0, 2, 0, 3; suffixes axis, le, babble, yhood.
        var prefixes: [UInt8] = [0x80, 0x01, 0x04, 0x04, 0x00, 0x03, 3, 0, 0, 0, 0x44, 0x01]
        prefixes += [UInt8](repeating: 0, count: 10)
        var suffixLengths: [UInt8] = [0x80, 0x01, 0x04, 0x04, 0x08, 0x03, 3, 0, 0, 0, 0x70]
        suffixLengths += [UInt8](repeating: 0, count: 11)
        let stream = prefixes + suffixLengths + Array("axislebabbleyhood".utf8)
        guard case .bytes(let b) = try withBytes(stream, { try ValueDecoder.decode(7, $0, count: 4, column: d) }) else { return XCTFail() }
        XCTAssertEqual((0..<4).map { b.string($0) }, ["axis", "axle", "babble", "babyhood"])
        var badPrefix = stream
        badPrefix[4] = 0x06  // first prefix 3, longer than the (empty) previous value
        XCTAssertThrowsError(try withBytes(badPrefix) { try ValueDecoder.decode(7, $0, count: 4, column: d) })
        XCTAssertThrowsError(try withBytes(Array(lengths + Array("Hello".utf8))) { try ValueDecoder.decode(6, $0, count: 4, column: d) },
                             "lengths that run past the data")
    }

    func testByteStreamSplitAndPlainValues() throws {
        let d = ParquetColumnDescriptor(name: "f", path: ["f"], physicalType: .float, typeLength: 0, logicalType: nil,
                                        maxDefinitionLevel: 0, maxRepetitionLevel: 0, isNested: false, leafIndex: 0)
        let a = Float(1.5).bitPattern, b = Float(-2.25).bitPattern
        var split: [UInt8] = []
        for k in 0..<4 { split += [UInt8(a >> (8 * UInt32(k)) & 0xFF), UInt8(b >> (8 * UInt32(k)) & 0xFF)] }
        guard case .f32(let v) = try withBytes(split, { try ValueDecoder.decode(9, $0, count: 2, column: d) }) else { return XCTFail() }
        XCTAssertEqual(v, [1.5, -2.25])
        guard case .bools(let bits) = try withBytes([0b0000_0101], { try ValueDecoder.plain($0, count: 3, type: .boolean, length: 0) }) else { return XCTFail() }
        XCTAssertEqual(bits, [true, false, true])
        guard case .bytes(let s) = try withBytes([2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0], { try ValueDecoder.plain($0, count: 2, type: .byteArray, length: 0) }) else { return XCTFail() }
        XCTAssertEqual([s.string(0), s.string(1)], ["hi", ""])
        XCTAssertThrowsError(try withBytes([9, 0, 0, 0, 1], { try ValueDecoder.plain($0, count: 1, type: .byteArray, length: 0) }))
        // INT96: 1 ns after midnight of 1970-01-02 (Julian day 2440589).
        var int96: [UInt8] = [1, 0, 0, 0, 0, 0, 0, 0]
        withUnsafeBytes(of: UInt32(2_440_589).littleEndian) { int96 += $0 }
        guard case .i64(let ns) = try withBytes(int96, { try ValueDecoder.plain($0, count: 1, type: .int96, length: 0) }) else { return XCTFail() }
        XCTAssertEqual(ns, [86_400_000_000_001])
    }

    func testEveryCodecInflatesAndRefusesLies() throws {
        let text = [UInt8](String(repeating: "routing candidates ", count: 200).utf8)
        func check(_ codec: Codec, _ packed: [UInt8], line: UInt = #line) throws {
            let got = try packed.withUnsafeBytes { try Compression.decompress(codec, $0, size: text.count) }
            XCTAssertEqual(got, text, "\(codec)", line: line)
            XCTAssertThrowsError(try packed.withUnsafeBytes { try Compression.decompress(codec, $0, size: text.count + 1) },
                                 "\(codec) with a wrong size", line: line)
        }
        var n = snappy_max_compressed_length(text.count)
        var snappy = [UInt8](repeating: 0, count: n)
        _ = text.withUnsafeBytes { s in snappy.withUnsafeMutableBytes { snappy_compress(s.baseAddress!.assumingMemoryBound(to: CChar.self), text.count, $0.baseAddress!.assumingMemoryBound(to: CChar.self), &n) } }
        try check(.snappy, Array(snappy.prefix(n)))
        var z = [UInt8](repeating: 0, count: ZSTD_compressBound(text.count))
        let zn = text.withUnsafeBytes { s in z.withUnsafeMutableBytes { ZSTD_compress($0.baseAddress!, $0.count, s.baseAddress!, text.count, 3) } }
        try check(.zstd, Array(z.prefix(zn)))
        var gz = [UInt8](repeating: 0, count: Int(compressBound(UInt(text.count))))
        var gzn = UInt(gz.count)
        _ = text.withUnsafeBytes { s in gz.withUnsafeMutableBytes { compress2($0.baseAddress!.assumingMemoryBound(to: UInt8.self), &gzn, s.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(text.count), 6) } }
        try check(.gzip, Array(gz.prefix(Int(gzn))) + Array(gz.prefix(0)))
        var lz = [UInt8](repeating: 0, count: Int(LZ4_compressBound(Int32(text.count))))
        let lzn = text.withUnsafeBytes { s in lz.withUnsafeMutableBytes { LZ4_compress_default(s.baseAddress!.assumingMemoryBound(to: CChar.self), $0.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(text.count), Int32($0.count)) } }
        try check(.lz4Raw, Array(lz.prefix(Int(lzn))))
        XCTAssertThrowsError(try [UInt8](repeating: 7, count: 50).withUnsafeBytes { try Compression.decompress(.zstd, $0, size: 100) })
        XCTAssertThrowsError(try [UInt8](repeating: 7, count: 50).withUnsafeBytes { try Compression.decompress(.gzip, $0, size: 100) })
        XCTAssertThrowsError(try [UInt8](repeating: 7, count: 50).withUnsafeBytes { try Compression.decompress(.brotli, $0, size: 100) })
        XCTAssertThrowsError(try [UInt8](repeating: 7, count: 10).withUnsafeBytes { try Compression.decompress(.gzip, $0, size: 1 << 27) },
                             "a size no 10-byte deflate stream reaches is refused before allocating")
    }

    func testJSONRenderingOfLogicalTypes() {
        XCTAssertEqual(ParquetJSON.date(days: 0), "1970-01-01")
        XCTAssertEqual(ParquetJSON.date(days: -1), "1969-12-31")
        XCTAssertEqual(ParquetJSON.date(days: 19723), "2024-01-01")
        XCTAssertEqual(ParquetJSON.timestamp(-1, unit: .millis), "1969-12-31T23:59:59.999Z")
        XCTAssertEqual(ParquetJSON.timestamp(1_704_067_200_123_456, unit: .micros), "2024-01-01T00:00:00.123456Z")
        XCTAssertEqual(ParquetJSON.bigEndianDecimal([0xFF, 0xFB], scale: 2), "-0.05")
        XCTAssertEqual(ParquetJSON.bigEndianDecimal([0x04, 0xD2], scale: 2), "12.34")
        XCTAssertEqual(ParquetJSON.bigEndianDecimal([0x80] + [UInt8](repeating: 0, count: 15), scale: 0),
                       "-170141183460469231731687303715884105728")
        XCTAssertEqual(ParquetJSON.decimal("5", negative: false, scale: 3), "0.005")
        XCTAssertEqual(ParquetJSON.halfToFloat(0x3C00), 1)
        XCTAssertEqual(ParquetJSON.halfToFloat(0xC000), -2)
        XCTAssertEqual(ParquetJSON.halfToFloat(0x0001), 0x1p-24)
        XCTAssertEqual(ParquetJSON.quoted("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\n\\u0001é\"")
        XCTAssertEqual(ParquetJSON.base64([0x66, 0x6F, 0x6F, 0x62]), "Zm9vYg==")
        XCTAssertEqual(ParquetJSON.number(.nan, text: "nan"), "\"NaN\"")
        XCTAssertEqual(ParquetJSON.number(-.infinity, text: "-inf"), "\"-Infinity\"")
    }
}
