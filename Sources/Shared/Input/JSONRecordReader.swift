#if canImport(Glibc)
import Glibc
#endif

/// A scalar JSON value of a metadata record.
public enum JSONScalar: Sendable, Equatable {
    case string(String)
    case number(Double)
    /// An integer literal beyond ±2^53, where a Double would round it: kept as its exact digits.
    case bigInteger(String)
    case bool(Bool)
    case null
    /// An array or object: kept as its raw text, since the trainer only uses scalars.
    case nested(String)
}

/// Errors reading a JSON metadata file; each names the file and the byte (and line) where it went wrong.
public struct JSONInputError: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    public var line: Int
    public var message: String

    public var description: String { "\(path):\(line): \(message)" }
}

/// Streams records from a JSON array of objects (`[{…}, {…}]`) or JSON Lines (`{…}\n{…}`), holding
/// one record at a time, so a multi-gigabyte file is read in bounded memory.
///
/// A noncopyable struct rather than a class: every byte goes through `peek`/`take`, and a class's
/// stored properties are checked for exclusive access at run time on each of them (15% of a 10M-item
/// load). Keys, strings and numbers are read into reused buffers, so a record allocates only the
/// values it returns.
public struct JSONRecordReader: ~Copyable {
    public let path: String
    private let fd: Int32
    /// Grows (doubling) only when one record needs more; most metadata records are far smaller.
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0
    private var eof = false
    private var line = 1
    private var inArray: Bool?
    private var finished = false
    /// Nesting and string limits, so a hostile file cannot exhaust the stack or memory.
    private let maxDepth = 64
    private let maxString = 64 << 20

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw JSONInputError(path: path, line: 0, message: "cannot open: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    private func fail(_ m: String) -> JSONInputError { JSONInputError(path: path, line: line, message: m) }

    private mutating func fill() throws -> Bool {
        if eof { return false }
        if start > 0 {
            buffer.withUnsafeMutableBytes { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + start, end - start)
            }
            end -= start
            start = 0
        }
        if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        let n = buffer.withUnsafeMutableBytes { b in read(fd, b.baseAddress! + end, b.count - end) }
        if n < 0 { throw fail("read failed: \(String(cString: strerror(errno)))") }
        if n == 0 {
            eof = true
            return false
        }
        end += n
        return true
    }

    private mutating func peek() throws -> UInt8? {
        if start == end, try !fill() { return nil }
        return buffer[start]
    }

    private mutating func take() throws -> UInt8 {
        guard let c = try peek() else { throw fail("unexpected end of file") }
        start += 1
        if c == 0x0A { line += 1 }
        return c
    }

    private mutating func skipSpace() throws {
        while let c = try peek(), c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { _ = try take() }
    }

    private mutating func expect(_ c: UInt8) throws {
        let got = try take()
        guard got == c else { throw fail("expected '\(Character(Unicode.Scalar(c)))', found '\(Character(Unicode.Scalar(got)))'") }
    }

    /// The next record's values for `keys` (nil where a key is absent), or nil at the end of the file.
    /// Other keys are parsed and checked but not materialised, so nothing is allocated for them.
    public mutating func next(keys: [[UInt8]]) throws -> [JSONScalar?]? {
        var out: [JSONScalar?] = []
        return try next(keys: keys, into: &out) ? out : nil
    }

    /// Reads the next record's values for `keys` into `out` (one per key, nil where absent), reusing
    /// its storage from record to record; false at the end of the file.
    public mutating func next(keys: [[UInt8]], into out: inout [JSONScalar?]) throws -> Bool {
        guard try advanceToObject() else { return false }
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(nil, count: keys.count))
        try expect(UInt8(ascii: "{"))
        try skipSpace()
        if try peek() == UInt8(ascii: "}") {
            _ = try take()
        } else {
            seen.removeAll(keepingCapacity: true)
            seen.append(contentsOf: repeatElement(false, count: keys.count))
            while true {
                try skipSpace()
                guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
                var key: [UInt8] = []
                swap(&key, &keyBuffer)  // reused, and unique while stringBytes (a mutating method) fills it
                defer { swap(&key, &keyBuffer) }
                key.removeAll(keepingCapacity: true)
                try stringBytes(into: &key)
                try skipSpace()
                try expect(UInt8(ascii: ":"))
                try skipSpace()
                if let k = keys.firstIndex(of: key) {
                    if seen[k] { throw fail("key \"\(String(decoding: key, as: UTF8.self))\" appears twice in one object") }
                    seen[k] = true
                    out[k] = try value(depth: 1)
                } else {
                    try skipValue()
                }
                try skipSpace()
                let c = try take()
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in an object") }
            }
        }
        try afterObject()
        return true
    }

    private var keyBuffer: [UInt8] = []
    private var scratch: [UInt8] = []
    private var numberText: [UInt8] = []
    private var seen: [Bool] = []

    /// Skips any value, checking its syntax.
    private mutating func skipValue() throws {
        guard let c = try peek() else { throw fail("unexpected end of file") }
        switch c {
        case UInt8(ascii: "\""):
            try readStringIntoScratch()  // checked, not made into a String
        case UInt8(ascii: "{"), UInt8(ascii: "["): _ = try rawNested(depth: 1)
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        case UInt8(ascii: "N"): try literal("NaN")
        default: _ = try number()
        }
    }

    /// Skips a UTF-8 byte-order mark and names a compressed file as such.
    private mutating func checkStart() throws {
        while end - start < 3, try fill() {}
        let head = Array(buffer[start..<min(end, start + 3)])
        if head.starts(with: [0xEF, 0xBB, 0xBF]) {
            start += 3
            try skipSpace()
        } else if head.starts(with: [0x1F, 0x8B]) {
            throw fail("the file is gzip-compressed; decompress it first (gunzip)")
        } else if head.starts(with: [0x28, 0xB5, 0x2F]) {
            throw fail("the file is zstd-compressed; decompress it first (unzstd)")
        }
    }

    /// Moves to the next object; false at the end of the input.
    private mutating func advanceToObject() throws -> Bool {
        if finished { return false }
        try skipSpace()
        if inArray == nil {
            try checkStart()
            guard let c = try peek() else {
                finished = true
                return false
            }
            if c == UInt8(ascii: "[") {
                _ = try take()
                inArray = true
                try skipSpace()
                if try peek() == UInt8(ascii: "]") {
                    _ = try take()
                    finished = true
                    try trailing()
                    return false
                }
            } else if c == UInt8(ascii: "{") {
                inArray = false
            } else {
                throw fail("expected a JSON array of objects or JSON Lines, found '\(Character(Unicode.Scalar(c)))'")
            }
        }
        guard let c = try peek() else {
            if inArray == true { throw fail("the array is not closed") }
            finished = true
            return false
        }
        guard c == UInt8(ascii: "{") else { throw fail("expected an object, found '\(Character(Unicode.Scalar(c)))'") }
        return true
    }

    private mutating func afterObject() throws {
        try skipSpace()
        if inArray == true {
            guard try peek() != nil else { throw fail("the array is not closed") }
            let sep = try take()
            if sep == UInt8(ascii: "]") {
                finished = true
                try trailing()
            } else if sep != UInt8(ascii: ",") {
                throw fail("expected ',' or ']' after an object")
            } else {
                try skipSpace()
            }
        }
    }

    /// The next record with every key (nested values as raw text), or nil at the end of the file.
    public mutating func next() throws -> [String: JSONScalar]? {
        guard try advanceToObject() else { return nil }
        let record = try object()
        try afterObject()
        return record
    }

    private mutating func trailing() throws {
        try skipSpace()
        if try peek() != nil { throw fail("unexpected text after the closing ']'") }
    }

    private mutating func object() throws -> [String: JSONScalar] {
        try expect(UInt8(ascii: "{"))
        var out: [String: JSONScalar] = [:]
        try skipSpace()
        if try peek() == UInt8(ascii: "}") {
            _ = try take()
            return out
        }
        while true {
            try skipSpace()
            guard try peek() == UInt8(ascii: "\"") else { throw fail("expected a quoted key") }
            let key = try string()
            try skipSpace()
            try expect(UInt8(ascii: ":"))
            try skipSpace()
            if out[key] != nil { throw fail("key \"\(key)\" appears twice in one object") }
            out[key] = try value(depth: 1)
            try skipSpace()
            let c = try take()
            if c == UInt8(ascii: "}") { return out }
            guard c == UInt8(ascii: ",") else { throw fail("expected ',' or '}' in an object") }
        }
    }

    private mutating func value(depth: Int) throws -> JSONScalar {
        guard let c = try peek() else { throw fail("unexpected end of file") }
        switch c {
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "{"), UInt8(ascii: "["): return .nested(try rawNested(depth: depth))
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        // Python's json.dump writes NaN for a missing float: read it as missing.
        case UInt8(ascii: "N"): try literal("NaN"); return .null
        default: return try number()
        }
    }

    private mutating func literal(_ word: String) throws {
        for b in word.utf8 {
            let c = try take()
            if c != b { throw fail("invalid literal, expected \(word)") }
        }
    }

    private mutating func number() throws -> JSONScalar {
        var text: [UInt8] = []
        swap(&text, &numberText)
        defer { swap(&text, &numberText) }
        text.removeAll(keepingCapacity: true)
        while let c = try peek(), (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2B || c == 0x2E || c == 0x65 || c == 0x45 {
            text.append(try take())
            if text.count > 400 { throw fail("a number is too long") }
        }
        // Python's json.dump writes Infinity and -Infinity; they are read as numbers and refused
        // later by name where a column may not hold them.
        if text.isEmpty || text == [0x2D], try peek() == UInt8(ascii: "I") {
            try literal("Infinity")
            return .number(text.isEmpty ? .infinity : -.infinity)
        }
        let s = String(decoding: text, as: UTF8.self)
        guard !s.isEmpty, let v = Double(s), s.first != "+" else { throw fail("invalid value '\(s)'") }
        let digits = text.first == 0x2D ? text.dropFirst() : text[...]
        if !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), abs(v) >= 0x1p53 {
            return .bigInteger(s)
        }
        return .number(v)
    }

    private mutating func string() throws -> String {
        try readStringIntoScratch()
        return String(decoding: scratch, as: UTF8.self)
    }

    /// Reads a quoted string's bytes into `scratch`, reusing its storage.
    private mutating func readStringIntoScratch() throws {
        var bytes: [UInt8] = []
        swap(&bytes, &scratch)  // unique while stringBytes (a mutating method) fills it
        defer { swap(&bytes, &scratch) }
        bytes.removeAll(keepingCapacity: true)
        try stringBytes(into: &bytes)
    }

    /// Reads a quoted string's bytes (escapes decoded) into `bytes`.
    private mutating func stringBytes(into bytes: inout [UInt8]) throws {
        try expect(UInt8(ascii: "\""))
        while true {
            // Fast path: copy plain bytes straight from the buffer.
            if start == end, try !fill() { throw fail("unexpected end of file inside a string") }
            var i = start
            while i < end {
                let c = buffer[i]
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") || c < 0x20 { break }
                i += 1
            }
            if i > start {
                bytes.append(contentsOf: buffer[start..<i])
                start = i
            }
            if bytes.count > maxString { throw fail("a string longer than \(maxString) bytes") }
            if start == end { continue }
            if buffer[start] < 0x20 { throw fail("a control character inside a string") }
            let c = try take()
            if c == UInt8(ascii: "\"") { return }
            let e = try take()
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(e)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if code >= 0xD800 && code < 0xDC00 {
                    guard try take() == UInt8(ascii: "\\"), try take() == UInt8(ascii: "u") else { throw fail("a lone surrogate escape") }
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else { throw fail("a lone surrogate escape") }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                }
                guard let scalar = Unicode.Scalar(code) else { throw fail("an invalid \\u escape") }
                bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("an invalid escape \\\(Character(Unicode.Scalar(e)))")
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = try take()
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail("an invalid \\u escape")
            }
            v = v << 4 | d
        }
        return v
    }

    /// Reads an array or object as raw text (validated for balance, strings and depth).
    private mutating func rawNested(depth: Int) throws -> String {
        guard depth < maxDepth else { throw fail("values nested more than \(maxDepth) deep") }
        var out: [UInt8] = []
        var stack: [UInt8] = []
        repeat {
            let c = try take()
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                stack.append(c)
                guard stack.count + depth < maxDepth else { throw fail("values nested more than \(maxDepth) deep") }
                out.append(c)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                guard let open = stack.popLast(), (open == UInt8(ascii: "{")) == (c == UInt8(ascii: "}")) else {
                    throw fail("mismatched brackets")
                }
                out.append(c)
            case UInt8(ascii: "\""):
                start -= 1
                let s = try string()
                out.append(contentsOf: Array(ParquetJSON.quoted(s).utf8))
            default:
                out.append(c)
            }
            if out.count > maxString { throw fail("a nested value longer than \(maxString) bytes") }
        } while !stack.isEmpty
        return String(decoding: out, as: UTF8.self)
    }
}
