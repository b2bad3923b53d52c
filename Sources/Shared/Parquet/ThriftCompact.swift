/// A reader of the Thrift compact protocol over an in-memory buffer. Every length and count is
/// checked against the bytes that remain, and nesting is limited, so corrupt input is an error.
struct ThriftReader {
    enum FieldType: UInt8 {
        case boolTrue = 1, boolFalse = 2, i8 = 3, i16 = 4, i32 = 5, i64 = 6, double = 7, binary = 8
        case list = 9, set = 10, map = 11, structure = 12
    }

    let bytes: UnsafeRawBufferPointer
    var pos: Int
    private var depth = 0

    init(_ bytes: UnsafeRawBufferPointer, at pos: Int = 0) {
        self.bytes = bytes
        self.pos = pos
    }

    var remaining: Int { bytes.count - pos }

    mutating func byte() throws -> UInt8 {
        guard pos < bytes.count else { throw DecodeError("Thrift data ends early at byte \(pos)") }
        defer { pos += 1 }
        return bytes[pos]
    }

    mutating func varint() throws -> UInt64 { try LEB128.read(bytes, &pos) }

    mutating func zigzag() throws -> Int64 { LEB128.unzigzag(try varint()) }

    mutating func i32() throws -> Int32 {
        let v = try zigzag()
        guard let r = Int32(exactly: v) else { throw DecodeError("Thrift i32 out of range: \(v)") }
        return r
    }

    mutating func binary() throws -> UnsafeRawBufferPointer {
        let n = try varint()
        guard n <= UInt64(remaining) else { throw DecodeError("Thrift string of \(n) bytes runs past the end") }
        let r = UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + Int(n))])
        pos += Int(n)
        return r
    }

    mutating func string() throws -> String { String(decoding: try binary(), as: UTF8.self) }

    mutating func double() throws -> Double {
        guard remaining >= 8 else { throw DecodeError("Thrift double runs past the end") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[pos + i]) << (8 * UInt64(i)) }
        pos += 8
        return Double(bitPattern: v)
    }

    /// Reads a list header: element type and count (bounded by the remaining bytes).
    mutating func listHeader() throws -> (type: UInt8, count: Int) {
        let h = try byte()
        var n = UInt64(h >> 4)
        if n == 15 { n = try varint() }
        guard n <= UInt64(remaining) else { throw DecodeError("Thrift list of \(n) elements is longer than the data") }
        return (h & 0x0F, Int(n))
    }

    /// Iterates the fields of a struct; `body` returns false for fields it does not know, which are skipped.
    mutating func readStruct(_ body: (inout ThriftReader, Int16, UInt8) throws -> Bool) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { throw DecodeError("Thrift structures nested more than 64 deep") }
        var last: Int16 = 0
        while true {
            let h = try byte()
            if h == 0 { return }
            let type = h & 0x0F
            let delta = h >> 4
            let id: Int16
            if delta == 0 {
                let v = try zigzag()
                guard let x = Int16(exactly: v) else { throw DecodeError("Thrift field id out of range: \(v)") }
                id = x
            } else {
                id = last &+ Int16(delta)
            }
            last = id
            if type == FieldType.boolTrue.rawValue || type == FieldType.boolFalse.rawValue {
                // The value lives in the header; let the body read it through `lastBool`.
                lastBool = type == FieldType.boolTrue.rawValue
            }
            if try !body(&self, id, type) { try skip(type) }
        }
    }

    /// The value of the last boolean field header read.
    private(set) var lastBool = false

    mutating func expect(_ type: UInt8, _ want: FieldType, _ what: String) throws {
        guard type == want.rawValue else { throw DecodeError("Thrift field \(what) has type \(type), expected \(want)") }
    }

    /// Skips a value of any type, recursively.
    mutating func skip(_ type: UInt8) throws {
        switch type {
        case 1, 2: return
        case 3: _ = try byte()
        case 4, 5, 6: _ = try varint()
        case 7:
            guard remaining >= 8 else { throw DecodeError("Thrift double runs past the end") }
            pos += 8
        case 8: _ = try binary()
        case 9, 10:
            let (t, n) = try listHeader()
            try nested {
                for _ in 0..<n {
                    if t == 1 || t == 2 { _ = try $0.byte() } else { try $0.skip(t) }
                }
            }
        case 11:
            let n = try varint()
            guard n <= UInt64(remaining) else { throw DecodeError("Thrift map of \(n) entries is longer than the data") }
            if n == 0 { return }
            let kv = try byte()
            try nested {
                for _ in 0..<Int(n) {
                    try $0.skip(kv >> 4)
                    try $0.skip(kv & 0x0F)
                }
            }
        case 12: try readStruct { _, _, _ in false }
        default: throw DecodeError("unknown Thrift type \(type) at byte \(pos)")
        }
    }

    private mutating func nested(_ body: (inout ThriftReader) throws -> Void) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 64 else { throw DecodeError("Thrift structures nested more than 64 deep") }
        try body(&self)
    }

    /// Reads a list of structs with `element`.
    mutating func list<T>(_ element: (inout ThriftReader) throws -> T) throws -> [T] {
        let (t, n) = try listHeader()
        guard t == FieldType.structure.rawValue else { throw DecodeError("Thrift list of type \(t), expected structs") }
        var out: [T] = []
        out.reserveCapacity(min(n, 4096))
        for _ in 0..<n { out.append(try element(&self)) }
        return out
    }

    /// Reads a list of i32 values.
    mutating func i32List() throws -> [Int32] {
        let (t, n) = try listHeader()
        guard t == FieldType.i32.rawValue else { throw DecodeError("Thrift list of type \(t), expected i32") }
        var out: [Int32] = []
        out.reserveCapacity(min(n, 4096))
        for _ in 0..<n { out.append(try i32()) }
        return out
    }

    /// Reads a list of strings.
    mutating func stringList() throws -> [String] {
        let (t, n) = try listHeader()
        guard t == FieldType.binary.rawValue else { throw DecodeError("Thrift list of type \(t), expected strings") }
        var out: [String] = []
        out.reserveCapacity(min(n, 4096))
        for _ in 0..<n { out.append(try string()) }
        return out
    }
}

/// A writer of the Thrift compact protocol, for the Parquet writer's footer and page headers.
struct ThriftWriter {
    private(set) var bytes: [UInt8] = []
    private var lastIDs: [Int16] = [0]

    mutating func varint(_ v: UInt64) { LEB128.append(v, to: &bytes) }

    mutating func zigzag(_ v: Int64) { varint(LEB128.zigzag(v)) }

    private mutating func field(_ id: Int16, _ type: UInt8) {
        let delta = id - lastIDs[lastIDs.count - 1]
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type)
        } else {
            bytes.append(type)
            zigzag(Int64(id))
        }
        lastIDs[lastIDs.count - 1] = id
    }

    mutating func i32(_ id: Int16, _ v: Int32) {
        field(id, 5)
        zigzag(Int64(v))
    }

    mutating func i64(_ id: Int16, _ v: Int64) {
        field(id, 6)
        zigzag(v)
    }

    mutating func bool(_ id: Int16, _ v: Bool) { field(id, v ? 1 : 2) }

    mutating func string(_ id: Int16, _ s: String) {
        field(id, 8)
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    mutating func beginStruct(_ id: Int16) {
        field(id, 12)
        lastIDs.append(0)
    }

    mutating func endStruct() {
        bytes.append(0)
        lastIDs.removeLast()
    }

    /// Begins a list field; for struct elements call `beginElement`/`endStruct` per element.
    mutating func listHeader(_ id: Int16, type: UInt8, count: Int) {
        field(id, 9)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | type)
        } else {
            bytes.append(0xF0 | type)
            varint(UInt64(count))
        }
    }

    mutating func beginElement() { lastIDs.append(0) }

    mutating func rawI32(_ v: Int32) { zigzag(Int64(v)) }

    mutating func rawString(_ s: String) {
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    /// Ends the top-level struct.
    mutating func finish() { bytes.append(0) }
}
