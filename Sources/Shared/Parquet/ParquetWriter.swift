import CCompression
import HNSW

/// A column to write: one entry per row in `values`, with `validity` false where the row is missing.
public struct ParquetWriteColumn: Sendable {
    public var name: String
    public var values: ParquetValues
    public var validity: [Bool]?
    /// STRING, DATE and TIMESTAMP are annotated in the schema; others are written as plain types.
    public var logicalType: LogicalType?

    public init(name: String, values: ParquetValues, validity: [Bool]? = nil, logicalType: LogicalType? = nil) {
        self.name = name
        self.values = values
        self.validity = validity
        self.logicalType = logicalType
    }

    var count: Int {
        switch values {
        case .boolean(let v): return v.count
        case .int32(let v): return v.count
        case .int64(let v): return v.count
        case .float(let v): return v.count
        case .double(let v): return v.count
        case .bytes(let b): return b.count
        case .dictionary(let c, _): return c.count
        }
    }

    var physicalType: PhysicalType {
        switch values {
        case .boolean: return .boolean
        case .int32: return .int32
        case .int64: return .int64
        case .float: return .float
        case .double: return .double
        case .bytes, .dictionary: return .byteArray
        }
    }
}

/// A small Parquet writer: flat schemas, nullable columns, PLAIN values or RLE_DICTIONARY for byte
/// strings, V1 data pages, UNCOMPRESSED or SNAPPY. Files are written atomically.
public enum ParquetWriter {
    public static func write(_ columns: [ParquetWriteColumn], to path: String, codec: Codec = .snappy,
                             rowGroupRows: Int = 131_072, dictionary: Bool = true) throws {
        guard codec == .uncompressed || codec == .snappy else {
            throw ParquetError.unsupported(path: path, message: "the writer supports UNCOMPRESSED and SNAPPY, not \(codec)")
        }
        let rows = columns.first?.count ?? 0
        for c in columns where c.count != rows || (c.validity.map { $0.count != rows } ?? false) {
            throw ParquetError.io(path: path, message: "column '\(c.name)' has \(c.count) rows, expected \(rows)")
        }
        var file: [UInt8] = Array("PAR1".utf8)
        var groups: [[ChunkMeta]] = []
        var groupRows: [Int] = []
        var start = 0
        repeat {
            let end = min(start + max(rowGroupRows, 1), rows)
            var metas: [ChunkMeta] = []
            for c in columns {
                metas.append(writeChunk(c, start..<end, codec: codec, dictionary: dictionary, into: &file))
            }
            groups.append(metas)
            groupRows.append(end - start)
            start = end
        } while start < rows
        let footer = footerBytes(columns, groups, groupRows, rows: rows, codec: codec)
        file += footer
        let n = UInt32(footer.count)
        file += [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
        file += Array("PAR1".utf8)
        do {
            let w = try FileIO.AtomicWriter(path: path)
            try file.withUnsafeBytes { try w.write($0.baseAddress!, count: $0.count) }
            try w.commit()
        } catch let e as HNSWError {
            throw ParquetError.io(path: path, message: "\(e)")
        }
    }

    struct ChunkMeta {
        var dataOffset: Int
        var dictionaryOffset: Int?
        var compressed: Int
        var uncompressed: Int
        var encodings: [Int32]
    }

    private static func writeChunk(_ c: ParquetWriteColumn, _ r: Range<Int>, codec: Codec, dictionary: Bool,
                                   into file: inout [UInt8]) -> ChunkMeta {
        let present = r.filter { c.validity?[$0] ?? true }
        var levels: [UInt8] = []
        if let v = c.validity { levels = hybridBitPacked(r.map { v[$0] ? 1 : 0 }, width: 1) }
        var values: [UInt8] = []
        var dictPage: [UInt8]?
        var dictCount = 0
        var encoding: Int32 = 0
        func le<T: FixedWidthInteger>(_ x: T) { withUnsafeBytes(of: x.littleEndian) { values += $0 } }
        switch c.values {
        case .boolean(let v):
            var bits = [UInt8](repeating: 0, count: (present.count + 7) / 8)
            for (i, row) in present.enumerated() where v[row] { bits[i >> 3] |= 1 << UInt8(i & 7) }
            values = bits
        case .int32(let v): present.forEach { le(v[$0]) }
        case .int64(let v): present.forEach { le(v[$0]) }
        case .float(let v): present.forEach { le(v[$0].bitPattern) }
        case .double(let v): present.forEach { le(v[$0].bitPattern) }
        case .bytes(let b):
            if dictionary {
                var index: [[UInt8]: UInt32] = [:]
                var dict: [UInt8] = []
                var codes: [UInt32] = []
                for row in present {
                    let key = [UInt8](b[row])
                    if let code = index[key] {
                        codes.append(code)
                    } else {
                        let code = UInt32(index.count)
                        index[key] = code
                        withUnsafeBytes(of: UInt32(key.count).littleEndian) { dict += $0 }
                        dict += key
                        codes.append(code)
                    }
                }
                dictPage = dict
                dictCount = index.count
                let width = Hybrid.width(for: max(index.count - 1, 0))
                values = [UInt8(width)] + hybridBitPacked(codes, width: width)
                encoding = 8
            } else {
                for row in present {
                    le(UInt32(b[row].count))
                    values += b[row]
                }
            }
        case .dictionary(let codes, let distinct):
            var dict: [UInt8] = []
            for i in 0..<distinct.count {
                withUnsafeBytes(of: UInt32(distinct[i].count).littleEndian) { dict += $0 }
                dict += distinct[i]
            }
            dictPage = dict
            dictCount = distinct.count
            let width = Hybrid.width(for: max(distinct.count - 1, 0))
            values = [UInt8(width)] + hybridBitPacked(present.map { UInt32(max(codes[$0], 0)) }, width: width)
            encoding = 8
        }
        var meta = ChunkMeta(dataOffset: 0, dictionaryOffset: nil, compressed: 0, uncompressed: 0, encodings: [3, encoding])
        if let dictPage {
            meta.dictionaryOffset = file.count
            let body = compress(dictPage, codec)
            var h = ThriftWriter()
            h.i32(1, 2)
            h.i32(2, Int32(dictPage.count))
            h.i32(3, Int32(body.count))
            h.beginStruct(7)
            h.i32(1, Int32(dictCount))
            h.i32(2, 0)
            h.endStruct()
            h.finish()
            file += h.bytes
            file += body
            meta.compressed += h.bytes.count + body.count
            meta.uncompressed += h.bytes.count + dictPage.count
            meta.encodings.append(0)
        }
        var page: [UInt8] = []
        if c.validity != nil {
            withUnsafeBytes(of: UInt32(levels.count).littleEndian) { page += $0 }
            page += levels
        }
        page += values
        let body = compress(page, codec)
        var h = ThriftWriter()
        h.i32(1, 0)
        h.i32(2, Int32(page.count))
        h.i32(3, Int32(body.count))
        h.beginStruct(5)
        h.i32(1, Int32(r.count))
        h.i32(2, encoding)
        h.i32(3, 3)
        h.i32(4, 3)
        h.endStruct()
        h.finish()
        meta.dataOffset = file.count
        file += h.bytes
        file += body
        meta.compressed += h.bytes.count + body.count
        meta.uncompressed += h.bytes.count + page.count
        return meta
    }

    /// Bit-packed runs only (a valid hybrid stream), LSB first, padded to groups of 8.
    static func hybridBitPacked<I: BinaryInteger>(_ values: [I], width: Int) -> [UInt8] {
        if values.isEmpty { return [] }
        let groups = (values.count + 7) / 8
        var out: [UInt8] = []
        LEB128.append(UInt64(groups) << 1 | 1, to: &out)
        var packed = [UInt8](repeating: 0, count: groups * width)
        var bit = 0
        for v in values {
            for b in 0..<width where (UInt64(v) >> UInt64(b)) & 1 != 0 { packed[(bit + b) >> 3] |= 1 << UInt8((bit + b) & 7) }
            bit += width
        }
        return out + packed
    }

    private static func compress(_ data: [UInt8], _ codec: Codec) -> [UInt8] {
        guard codec == .snappy, !data.isEmpty else { return data }
        var n = snappy_max_compressed_length(data.count)
        var out = [UInt8](repeating: 0, count: n)
        _ = data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                snappy_compress(src.baseAddress!.assumingMemoryBound(to: CChar.self), data.count,
                                dst.baseAddress!.assumingMemoryBound(to: CChar.self), &n)
            }
        }
        return Array(out.prefix(n))
    }

    private static func footerBytes(_ columns: [ParquetWriteColumn], _ groups: [[ChunkMeta]], _ groupRows: [Int],
                                    rows: Int, codec: Codec) -> [UInt8] {
        var w = ThriftWriter()
        w.i32(1, 1)
        w.listHeader(2, type: 12, count: columns.count + 1)
        w.beginElement()
        w.string(4, "schema")
        w.i32(5, Int32(columns.count))
        w.endStruct()
        for c in columns {
            w.beginElement()
            w.i32(1, c.physicalType.rawValue)
            w.i32(3, c.validity == nil ? 0 : 1)
            w.string(4, c.name)
            switch c.logicalType {
            case .string?:
                w.i32(6, 0)
                w.beginStruct(10)
                w.beginStruct(1)
                w.endStruct()
                w.endStruct()
            case .date?:
                w.i32(6, 6)
                w.beginStruct(10)
                w.beginStruct(6)
                w.endStruct()
                w.endStruct()
            case .timestamp(_, .micros)?:
                w.i32(6, 10)
                w.beginStruct(10)
                w.beginStruct(8)
                w.bool(1, true)
                w.beginStruct(2)
                w.beginStruct(2)
                w.endStruct()
                w.endStruct()
                w.endStruct()
                w.endStruct()
            default: break
            }
            w.endStruct()
        }
        w.i64(3, Int64(rows))
        w.listHeader(4, type: 12, count: groups.count)
        var offset = 4
        for (g, metas) in groups.enumerated() {
            w.beginElement()
            w.listHeader(1, type: 12, count: metas.count)
            var total = 0
            for (ci, m) in metas.enumerated() {
                w.beginElement()
                w.i64(2, Int64(m.dataOffset))
                w.beginStruct(3)
                w.i32(1, columns[ci].physicalType.rawValue)
                w.listHeader(2, type: 5, count: m.encodings.count)
                m.encodings.forEach { w.rawI32($0) }
                w.listHeader(3, type: 8, count: 1)
                w.rawString(columns[ci].name)
                w.i32(4, codec.rawValue)
                w.i64(5, Int64(groupRows[g]))
                w.i64(6, Int64(m.uncompressed))
                w.i64(7, Int64(m.compressed))
                w.i64(9, Int64(m.dataOffset))
                if let d = m.dictionaryOffset { w.i64(11, Int64(d)) }
                w.endStruct()
                w.endStruct()
                total += m.compressed
            }
            w.i64(2, Int64(metas.reduce(0) { $0 + $1.uncompressed }))
            w.i64(3, Int64(groupRows[g]))
            w.i64(5, Int64(offset))
            w.i64(6, Int64(total))
            w.endStruct()
            offset += total
        }
        w.string(6, "routing-candidates-trainer")
        w.finish()
        return w.bytes
    }
}
