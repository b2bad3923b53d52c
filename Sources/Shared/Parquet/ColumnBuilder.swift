/// Accumulates one column across pages and row groups. Byte-string columns that arrive
/// dictionary-encoded stay as codes into one dictionary of distinct values for the whole read.
final class ColumnBuilder {
    let d: ParquetColumnDescriptor
    private(set) var count = 0
    private var validity: [Bool] = []
    private var anyNull = false

    private var bools: [Bool] = []
    private var i32: [Int32] = []
    private var i64: [Int64] = []
    private var f32: [Float] = []
    private var f64: [Double] = []
    private var bytes = ByteArrays()

    /// Decided by the first column chunk: does it carry a dictionary page?
    private var dictMode: Bool?
    private var codes: [Int32] = []
    private var distinct = ByteStringInterner()

    /// The current chunk's dictionary, and for dictionary mode its codes in `distinct`.
    private var chunkDictionary: PageValues?
    private var chunkRemap: [Int32] = []

    /// Rows the read will append (from the row groups' metadata), so each array is allocated once
    /// at its final size: growing by doubling copied and page-faulted every column about twice over.
    /// Capped, as the count comes from the file; a file that lies only makes an array grow as before.
    private let expectedRows: Int
    static let reservationCap = 1 << 27

    init(_ d: ParquetColumnDescriptor, expectedRows: Int = 0) {
        self.d = d
        self.expectedRows = min(max(expectedRows, 0), Self.reservationCap)
    }

    var isByteString: Bool { d.physicalType == .byteArray || d.physicalType == .fixedLenByteArray }

    /// Called at the start of each column chunk.
    func beginChunk(hasDictionary: Bool) {
        if dictMode == nil { dictMode = isByteString && hasDictionary }
        chunkDictionary = nil
        chunkRemap = []
    }

    /// A chunk dictionary larger than this marks a high-cardinality column (ids, names): its values
    /// are kept as plain strings rather than interned into one dictionary for the whole read, which
    /// for 10M unique ids was a 10M-entry table with a cache miss per value.
    static let largeDictionary = 65_536

    func setDictionary(_ values: PageValues) {
        chunkDictionary = values
        if dictMode == true, case .bytes(let b) = values {
            if b.count > Self.largeDictionary {
                leaveDictionaryMode()
                return
            }
            chunkRemap = (0..<b.count).map { intern(b[$0]) }
        }
    }

    private func intern(_ value: ArraySlice<UInt8>) -> Int32 { distinct.intern(value) }

    /// Appends one page: `defs` (nil for a required column) has one level per row.
    func append(_ values: PageValues, defs: [UInt32]?, rows: Int) throws {
        var present = rows
        var mask: [Bool]?
        if let defs {
            let maxDef = UInt32(d.maxDefinitionLevel)
            var p = 0
            var m = [Bool](repeating: false, count: defs.count)
            for (i, l) in defs.enumerated() {
                if l == maxDef {
                    p += 1
                    m[i] = true
                } else if l > maxDef {
                    throw DecodeError("definition level \(l) above the maximum \(maxDef)")
                }
            }
            present = p
            mask = m
        }
        guard values.count == present else {
            throw DecodeError("a page has \(present) non-null rows but \(values.count) values")
        }
        let resolved = try resolve(values)
        if let mask, present < rows {
            if !anyNull {
                validity.reserveCapacity(expectedRows)
                validity.append(contentsOf: repeatElement(true, count: count))
                anyNull = true
            }
            validity.append(contentsOf: mask)
        } else if anyNull {
            validity.append(contentsOf: repeatElement(true, count: rows))
        }
        let expected = expectedRows
        func scatter<T>(_ src: [T], _ dst: inout [T], _ placeholder: T) {
            if dst.isEmpty, expected > rows { dst.reserveCapacity(expected) }
            guard let mask, present < rows else {
                dst.append(contentsOf: src)
                return
            }
            dst.reserveGrowing(dst.count + rows)
            var j = 0
            for m in mask {
                if m {
                    dst.append(src[j])
                    j += 1
                } else {
                    dst.append(placeholder)
                }
            }
        }
        switch resolved {
        case .bools(let v): scatter(v, &bools, false)
        case .i32(let v): scatter(v, &i32, 0)
        case .i64(let v): scatter(v, &i64, 0)
        case .f32(let v): scatter(v, &f32, 0)
        case .f64(let v): scatter(v, &f64, 0)
        case .indices(let v): scatter(v.map { Int32(bitPattern: $0) }, &codes, -1)
        case .bytes(let b):
            // A PLAIN page inside a dictionary-encoded chunk means the writer's dictionary overflowed:
            // a high-cardinality column (ids, names), so keep plain strings from here on.
            if dictMode == true { leaveDictionaryMode() }
            if bytes.count == 0, expected > rows {
                // The first page's mean length stands for the rest (ids and names are even in length).
                bytes.reserve(entries: expected, bytes: b.count == 0 ? 0 : min(b.data.count / b.count * expected, 1 << 31))
            }
            if let mask, present < rows {
                var j = 0
                for m in mask {
                    if m {
                        bytes.append(contentsOf: b[j])
                        j += 1
                    } else {
                        bytes.appendEmpty()
                    }
                }
            } else {
                bytes.append(all: b)
            }
        }
        count += rows
    }

    /// Materialises the codes read so far as plain byte strings.
    private func leaveDictionaryMode() {
        var out = ByteArrays()
        let values = distinct.values
        out.reserve(entries: codes.count, bytes: codes.count * 8)
        for c in codes {
            if c < 0 { out.appendEmpty() } else { out.append(contentsOf: values[Int(c)]) }
        }
        bytes = out
        codes = []
        dictMode = false
        if case .bytes(let b)? = chunkDictionary { chunkRemap = []; chunkDictionary = .bytes(b) }
    }

    /// Turns dictionary indices into values (or, in dictionary mode, into global codes).
    private func resolve(_ values: PageValues) throws -> PageValues {
        guard case .indices(let idx) = values else { return values }
        guard let dict = chunkDictionary else { throw DecodeError("dictionary-encoded values without a dictionary page") }
        let n = dict.count
        for i in idx where Int(i) >= n { throw DecodeError("dictionary index \(i) is outside the dictionary of \(n) values") }
        switch dict {
        case .bools(let v): return .bools(idx.map { v[Int($0)] })
        case .i32(let v): return .i32(idx.map { v[Int($0)] })
        case .i64(let v): return .i64(idx.map { v[Int($0)] })
        case .f32(let v): return .f32(idx.map { v[Int($0)] })
        case .f64(let v): return .f64(idx.map { v[Int($0)] })
        case .bytes(let b):
            if dictMode == true { return .indices(idx.map { UInt32(bitPattern: chunkRemap[Int($0)]) }) }
            var out = ByteArrays()
            for i in idx { out.append(contentsOf: b[Int(i)]) }
            return .bytes(out)
        case .indices: throw DecodeError("a dictionary page holds indices")
        }
    }

    func finish() -> ParquetColumnData {
        let values: ParquetValues
        switch d.physicalType {
        case .boolean: values = .boolean(bools)
        case .int32: values = .int32(i32)
        case .int64, .int96: values = .int64(i64)
        case .float: values = .float(f32)
        case .double: values = .double(f64)
        case .byteArray, .fixedLenByteArray:
            values = dictMode == true ? .dictionary(codes: codes, values: distinct.values) : .bytes(bytes)
        }
        return ParquetColumnData(descriptor: d, validity: anyNull ? validity : nil, values: values, count: count)
    }
}
