import Foundation
import XCTest
@testable import Shared

final class JSONRecordReaderTests: XCTestCase {
    func file(_ text: String) throws -> String {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("json-\(UUID().uuidString).json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    func testArraysAndJSONLinesGiveTheSameRecords() throws {
        let array = try file(#"[{"id": "a", "n": 1.5, "tags": [1, {"x": "]"}], "ok": true}, {"id": "b\u00e9\n", "n": null}]"#)
        let lines = try file("{\"id\": \"a\", \"n\": 1.5, \"tags\": [1, {\"x\": \"]\"}], \"ok\": true}\n\n{\"id\": \"bé\\n\", \"n\": null}\n")
        for p in [array, lines] {
            var r = try JSONRecordReader(path: p)
            let keys = ["id", "n", "ok"].map { Array($0.utf8) }
            XCTAssertEqual(try r.next(keys: keys), [.string("a"), .number(1.5), .bool(true)])
            XCTAssertEqual(try r.next(keys: keys), [.string("bé\n"), .null, nil])
            XCTAssertNil(try r.next(keys: keys))
        }
        var whole = try JSONRecordReader(path: array)
        XCTAssertEqual(try whole.next()?["tags"], .nested(#"[1, {"x": "]"}]"#))
    }

    func testPythonNaNInfinityBigIntegersAndByteOrderMark() throws {
        let text = "\u{FEFF}" + #"[{"id": 9007199254740993, "x": NaN}, {"id": -18446744073709551615, "x": -Infinity}, {"id": 12, "x": Infinity}]"#
        var r = try JSONRecordReader(path: try file(text))
        let keys = ["id", "x"].map { Array($0.utf8) }
        XCTAssertEqual(try r.next(keys: keys), [.bigInteger("9007199254740993"), .null])
        XCTAssertEqual(try r.next(keys: keys), [.bigInteger("-18446744073709551615"), .number(-.infinity)])
        XCTAssertEqual(try r.next(keys: keys), [.number(12), .number(.infinity)])
        XCTAssertNil(try r.next(keys: keys))
    }

    func testCompressedFilesAreNamed() throws {
        let p = FileManager.default.temporaryDirectory.appendingPathComponent("json-\(UUID().uuidString).json.gz").path
        try Data([0x1F, 0x8B, 0x08, 0x00, 0x00]).write(to: URL(fileURLWithPath: p))
        var r = try JSONRecordReader(path: p)
        XCTAssertThrowsError(try r.next(keys: [])) { e in
            XCTAssertTrue("\(e)".contains("gzip-compressed") && "\(e)".contains(p), "\(e)")
        }
    }

    func testErrorsNameTheLine() throws {
        func error(_ text: String) throws -> String {
            var r = try JSONRecordReader(path: try file(text))
            do {
                while try r.next(keys: [Array("id".utf8)]) != nil {}
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertTrue(try error("{\"id\": 1}\n{\"id\": 2,}\n").contains(":2: expected a quoted key"))
        XCTAssertTrue(try error("[{\"id\": 1}, {\"id\": 2}").contains("not closed"))
        XCTAssertTrue(try error("{\"id\": 1, \"id\": 2}").contains("appears twice"))
        XCTAssertTrue(try error("{\"id\": tru}").contains("invalid literal"))
        XCTAssertTrue(try error("\"just a string\"").contains("expected a JSON array of objects or JSON Lines"))
        XCTAssertTrue(try error("[{\"id\": 1}] trailing").contains("after the closing"))
        XCTAssertTrue(try error(String(repeating: "[", count: 100)).contains("expected a JSON array of objects") == false)
    }
}
