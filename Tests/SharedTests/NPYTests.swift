import Foundation
import XCTest
@testable import Shared

final class NPYTests: XCTestCase {
    func path(_ name: String) -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("npy-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name).path
    }

    func header(_ dict: String, version: UInt8 = 1) -> [UInt8] {
        var text = dict
        let pre = 10
        text += String(repeating: " ", count: (64 - (pre + text.utf8.count + 1) % 64) % 64) + "\n"
        let n = text.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [version, 0, UInt8(n & 0xFF), UInt8(n >> 8)] + Array(text.utf8)
    }

    func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let p = path(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testRoundTripWithAlignedHeader() throws {
        let m = FloatMatrix(rows: 3, cols: 2, values: [1, -2, 3.5, .pi, 0, -0.25])
        let p = path("rt.npy")
        try NPY.write(m, to: p)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: p)))
        let headerLen = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLen) % 64, 0)
        XCTAssertEqual(bytes.count, 10 + headerLen + 24)
        XCTAssertEqual(bytes[10 + headerLen - 1], 0x0A)
        XCTAssertEqual(try NPY.read(path: p), m)
    }

    /// A row stream gives the file's rows in order, block by block, and refuses another shape or
    /// more rows than the file holds, naming the file.
    func testRowStreamReadsRowsInOrderAndChecksTheShape() throws {
        let values = (0..<(5 * 3)).map { Float($0) * 0.5 - 2 }
        let p = path("stream.npy")
        try NPY.write(FloatMatrix(rows: 5, cols: 3, values: values), to: p)
        let stream = try NPY.RowStream(path: p, rows: 5, cols: 3)
        var got = [Float](repeating: 0, count: 15)
        try got.withUnsafeMutableBufferPointer { b in
            try stream.next(2, into: b.baseAddress!)
            try stream.next(0, into: b.baseAddress! + 6)
            try stream.next(3, into: b.baseAddress! + 6)
            XCTAssertThrowsError(try stream.next(1, into: b.baseAddress!)) { XCTAssertTrue("\($0)".contains(p), "\($0)") }
        }
        XCTAssertEqual(got, values)
        XCTAssertThrowsError(try NPY.RowStream(path: p, rows: 5, cols: 4)) {
            XCTAssertEqual("\($0)", "\(p): not a float32 .npy matrix: shape (5, 3), expected (5, 4)")
        }
    }

    func testOtherDtypesAreRefusedByName() throws {
        let p = try write(header("{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }") + [UInt8](repeating: 0, count: 8), "f8.npy")
        XCTAssertThrowsError(try NPY.read(path: p)) { XCTAssertTrue("\($0)".contains("dtype is '<f8', expected '<f4'"), "\($0)") }
    }

    func testFortranOrderIsRefused() throws {
        let p = try write(header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }") + [UInt8](repeating: 0, count: 16), "f.npy")
        XCTAssertThrowsError(try NPY.read(path: p)) { XCTAssertTrue("\($0)".contains("Fortran order"), "\($0)") }
    }

    func testTruncatedAndOverlongDataAreRefused() throws {
        let h = header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }")
        let short = try write(h + [UInt8](repeating: 0, count: 20), "short.npy")
        XCTAssertThrowsError(try NPY.read(path: short)) { XCTAssertTrue("\($0)".contains("truncated: shape (2, 3) needs 24 data bytes, the file has 20"), "\($0)") }
        let long = try write(h + [UInt8](repeating: 0, count: 28), "long.npy")
        XCTAssertThrowsError(try NPY.read(path: long)) { XCTAssertTrue("\($0)".contains("4 unexpected bytes"), "\($0)") }
        let cut = try write(Array(h.prefix(30)), "cut.npy")
        XCTAssertThrowsError(try NPY.read(path: cut)) { XCTAssertTrue("\($0)".contains("header length"), "\($0)") }
    }

    func testOtherRanksAndMagicAreRefused() throws {
        let oneD = try write(header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }") + [UInt8](repeating: 0, count: 12), "1d.npy")
        XCTAssertThrowsError(try NPY.read(path: oneD)) { XCTAssertTrue("\($0)".contains("expected 2 (rows, dim)"), "\($0)") }
        let junk = try write(Array("hello world, not numpy".utf8), "junk.npy")
        XCTAssertThrowsError(try NPY.read(path: junk)) { XCTAssertTrue("\($0)".contains("magic"), "\($0)") }
        XCTAssertThrowsError(try NPY.read(path: path("missing.npy"))) { XCTAssertTrue("\($0)".contains("missing.npy: "), "\($0)") }
    }

    func testSyntheticVectorsAreSeeded() {
        XCTAssertEqual(SyntheticVectors.make(rows: 5, dim: 3, seed: 1), SyntheticVectors.make(rows: 5, dim: 3, seed: 1))
        XCTAssertNotEqual(SyntheticVectors.make(rows: 5, dim: 3, seed: 1), SyntheticVectors.make(rows: 5, dim: 3, seed: 2))
        let m = SyntheticVectors.make(rows: 20_000, dim: 2, seed: 3)
        let mean = m.values.reduce(0, +) / Float(m.values.count)
        XCTAssertEqual(mean, 0, accuracy: 0.02)
    }
}
