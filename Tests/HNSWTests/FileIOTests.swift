import Foundation
import XCTest
@testable import HNSW

/// The line writer and reader that keep large tsv artifacts out of memory.
final class FileIOTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "fileio-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func line(_ i: Int) -> String { "\(i)\t" + String(repeating: "é", count: i % 97) + "\n" }

    /// 60,000 lines of 2 to 200 bytes cross several 1 MiB chunks on both sides; the bytes equal the
    /// whole string, and every line comes back in order without its line feed.
    func testWriteLinesAndForEachLineRoundTripAcrossChunks() throws {
        let path = folder + "/lines.tsv"
        let count = 60_000
        try FileIO.writeLines(count: count, to: path, line)
        let whole = (0..<count).map(line).joined()
        XCTAssertGreaterThan(whole.utf8.count, 3 << 20)
        XCTAssertEqual(try FileIO.readAll(path), Array(whole.utf8))
        var seen = 0
        try FileIO.forEachLine(path) { bytes, i in
            XCTAssertEqual(i, seen)
            XCTAssertEqual(String(decoding: bytes, as: UTF8.self) + "\n", line(i))
            seen += 1
        }
        XCTAssertEqual(seen, count)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path + ".tmp-\(getpid())"))
    }

    func testForEachLinePassesALastLineWithoutLineFeedAndNothingForAnEmptyFile() throws {
        let path = folder + "/open.tsv"
        try FileIO.writeAtomically("a\n\nb".utf8, to: path)
        var lines: [String] = []
        try FileIO.forEachLine(path) { bytes, _ in lines.append(String(decoding: bytes, as: UTF8.self)) }
        XCTAssertEqual(lines, ["a", "", "b"])
        try FileIO.writeAtomically([UInt8](), to: path)
        var calls = 0
        try FileIO.forEachLine(path) { _, _ in calls += 1 }
        XCTAssertEqual(calls, 0)
    }

    func testForEachLineNamesAMissingFile() {
        XCTAssertThrowsError(try FileIO.forEachLine(folder + "/absent.tsv") { _, _ in }) { error in
            XCTAssertTrue("\(error)".contains("absent.tsv"), "\(error)")
        }
    }
}
