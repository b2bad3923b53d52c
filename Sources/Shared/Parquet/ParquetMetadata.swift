/// Parquet physical types.
public enum PhysicalType: Int32, Sendable, CustomStringConvertible {
    case boolean = 0, int32, int64, int96, float, double, byteArray, fixedLenByteArray

    public var description: String {
        ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"][Int(rawValue)]
    }
}

/// Field repetition.
public enum Repetition: Int32, Sendable {
    case required = 0, optional, repeated
}

/// Time units of TIME and TIMESTAMP.
public enum TimeUnit: Sendable, Equatable {
    case millis, micros, nanos
}

/// Logical (annotated) types, from `logicalType` or, failing that, `converted_type`.
public enum LogicalType: Sendable, Equatable, CustomStringConvertible {
    case string, map, list, enumeration, json, bson, uuid, float16, date, unknown
    case decimal(scale: Int, precision: Int)
    case time(utc: Bool, unit: TimeUnit)
    case timestamp(utc: Bool, unit: TimeUnit)
    case integer(bits: Int, signed: Bool)
    case interval

    public var description: String {
        switch self {
        case .string: return "STRING"
        case .map: return "MAP"
        case .list: return "LIST"
        case .enumeration: return "ENUM"
        case .json: return "JSON"
        case .bson: return "BSON"
        case .uuid: return "UUID"
        case .float16: return "FLOAT16"
        case .date: return "DATE"
        case .unknown: return "UNKNOWN"
        case .interval: return "INTERVAL"
        case .decimal(let s, let p): return "DECIMAL(\(p),\(s))"
        case .time(let u, let unit): return "TIME(\(unit),utc=\(u))"
        case .timestamp(let u, let unit): return "TIMESTAMP(\(unit),utc=\(u))"
        case .integer(let b, let s): return "INT(\(b),\(s ? "signed" : "unsigned"))"
        }
    }
}

/// Compression codecs.
public enum Codec: Int32, Sendable, CustomStringConvertible {
    case uncompressed = 0, snappy, gzip, lzo, brotli, lz4, zstd, lz4Raw

    public var description: String {
        ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"][Int(rawValue)]
    }
}

/// Value encodings.
enum Encoding: Int32 {
    case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5
    case deltaLengthByteArray = 6, deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9
}

struct SchemaElement {
    var type: PhysicalType?
    var typeLength: Int32?
    var repetition: Repetition?
    var name = ""
    var numChildren: Int32?
    var convertedType: Int32?
    var scale: Int32?
    var precision: Int32?
    var logicalType: LogicalType?
}

struct ColumnMetaData {
    var type: PhysicalType = .boolean
    var path: [String] = []
    var codec: Int32 = 0
    var numValues: Int64 = 0
    var totalUncompressedSize: Int64 = 0
    var totalCompressedSize: Int64 = 0
    var dataPageOffset: Int64 = 0
    var dictionaryPageOffset: Int64?
}

struct ColumnChunk {
    var filePath: String?
    var meta: ColumnMetaData?
    var encrypted = false
}

struct RowGroup {
    var columns: [ColumnChunk] = []
    var numRows: Int64 = 0
}

struct FileMetaData {
    var schema: [SchemaElement] = []
    var numRows: Int64 = 0
    var rowGroups: [RowGroup] = []
    var createdBy: String?
}

struct DataPageHeader {
    var numValues: Int32 = 0
    var encoding: Int32 = 0
}

struct DataPageHeaderV2 {
    var numValues: Int32 = 0
    var numNulls: Int32 = 0
    var numRows: Int32 = 0
    var encoding: Int32 = 0
    var defLength: Int32 = 0
    var repLength: Int32 = 0
    var isCompressed = true
}

struct PageHeader {
    var type: Int32 = -1
    var uncompressedSize: Int32 = 0
    var compressedSize: Int32 = 0
    var dataPage: DataPageHeader?
    var dictionaryNumValues: Int32?
    var dictionaryEncoding: Int32 = 0
    var dataPageV2: DataPageHeaderV2?
}

// MARK: decoding

extension ThriftReader {
    mutating func fileMetaData() throws -> FileMetaData {
        var m = FileMetaData()
        try readStruct { r, id, t in
            switch id {
            case 2: m.schema = try r.list { try $0.schemaElement() }
            case 3: try r.expect(t, .i64, "num_rows"); m.numRows = try r.zigzag()
            case 4: m.rowGroups = try r.list { try $0.rowGroup() }
            case 6: try r.expect(t, .binary, "created_by"); m.createdBy = try r.string()
            default: return false
            }
            return true
        }
        return m
    }

    mutating func schemaElement() throws -> SchemaElement {
        var e = SchemaElement()
        try readStruct { r, id, t in
            switch id {
            case 1:
                let v = try r.i32()
                guard let p = PhysicalType(rawValue: v) else { throw DecodeError("unknown physical type \(v)") }
                e.type = p
            case 2: e.typeLength = try r.i32()
            case 3:
                let v = try r.i32()
                guard let rep = Repetition(rawValue: v) else { throw DecodeError("unknown repetition \(v)") }
                e.repetition = rep
            case 4: try r.expect(t, .binary, "name"); e.name = try r.string()
            case 5: e.numChildren = try r.i32()
            case 6: e.convertedType = try r.i32()
            case 7: e.scale = try r.i32()
            case 8: e.precision = try r.i32()
            case 10: try r.expect(t, .structure, "logicalType"); e.logicalType = try r.logicalType()
            default: return false
            }
            return true
        }
        return e
    }

    mutating func timeUnit() throws -> TimeUnit {
        var unit = TimeUnit.millis
        try readStruct { _, id, _ in
            switch id {
            case 1: unit = .millis
            case 2: unit = .micros
            case 3: unit = .nanos
            default: return false
            }
            return false  // the member is an empty struct: let the reader skip it
        }
        return unit
    }

    mutating func logicalType() throws -> LogicalType? {
        var result: LogicalType?
        try readStruct { r, id, t in
            switch id {
            case 1: result = .string
            case 2: result = .map
            case 3: result = .list
            case 4: result = .enumeration
            case 5:
                var scale = 0, precision = 0
                try r.readStruct { r2, id2, _ in
                    switch id2 {
                    case 1: scale = Int(try r2.i32())
                    case 2: precision = Int(try r2.i32())
                    default: return false
                    }
                    return true
                }
                result = .decimal(scale: scale, precision: precision)
                return true
            case 6: result = .date
            case 7, 8:
                var utc = false, unit = TimeUnit.millis
                try r.readStruct { r2, id2, t2 in
                    switch id2 {
                    case 1: utc = r2.lastBool
                    case 2: try r2.expect(t2, .structure, "unit"); unit = try r2.timeUnit()
                    default: return false
                    }
                    return true
                }
                result = id == 7 ? .time(utc: utc, unit: unit) : .timestamp(utc: utc, unit: unit)
                return true
            case 10:
                var bits = 0, signed = true
                try r.readStruct { r2, id2, _ in
                    switch id2 {
                    case 1: bits = Int(Int8(truncatingIfNeeded: try r2.byte()))
                    case 2: signed = r2.lastBool
                    default: return false
                    }
                    return true
                }
                result = .integer(bits: bits, signed: signed)
                return true
            case 11: result = .unknown
            case 12: result = .json
            case 13: result = .bson
            case 14: result = .uuid
            case 15: result = .float16
            default: return false
            }
            _ = t
            return false  // empty member structs are skipped by the reader
        }
        return result
    }

    mutating func rowGroup() throws -> RowGroup {
        var g = RowGroup()
        try readStruct { r, id, t in
            switch id {
            case 1: g.columns = try r.list { try $0.columnChunk() }
            case 3: try r.expect(t, .i64, "num_rows"); g.numRows = try r.zigzag()
            default: return false
            }
            return true
        }
        return g
    }

    mutating func columnChunk() throws -> ColumnChunk {
        var c = ColumnChunk()
        try readStruct { r, id, t in
            switch id {
            case 1: try r.expect(t, .binary, "file_path"); c.filePath = try r.string()
            case 3: try r.expect(t, .structure, "meta_data"); c.meta = try r.columnMetaData()
            case 8, 9: c.encrypted = true; return false
            default: return false
            }
            return true
        }
        return c
    }

    mutating func columnMetaData() throws -> ColumnMetaData {
        var m = ColumnMetaData()
        try readStruct { r, id, t in
            switch id {
            case 1:
                let v = try r.i32()
                guard let p = PhysicalType(rawValue: v) else { throw DecodeError("unknown physical type \(v)") }
                m.type = p
            case 3: m.path = try r.stringList()
            case 4: m.codec = try r.i32()
            case 5: try r.expect(t, .i64, "num_values"); m.numValues = try r.zigzag()
            case 6: try r.expect(t, .i64, "total_uncompressed_size"); m.totalUncompressedSize = try r.zigzag()
            case 7: try r.expect(t, .i64, "total_compressed_size"); m.totalCompressedSize = try r.zigzag()
            case 9: try r.expect(t, .i64, "data_page_offset"); m.dataPageOffset = try r.zigzag()
            case 11: try r.expect(t, .i64, "dictionary_page_offset"); m.dictionaryPageOffset = try r.zigzag()
            default: return false
            }
            return true
        }
        return m
    }

    mutating func pageHeader() throws -> PageHeader {
        var h = PageHeader()
        try readStruct { r, id, t in
            switch id {
            case 1: h.type = try r.i32()
            case 2: h.uncompressedSize = try r.i32()
            case 3: h.compressedSize = try r.i32()
            case 5:
                try r.expect(t, .structure, "data_page_header")
                var d = DataPageHeader()
                try r.readStruct { r2, id2, _ in
                    switch id2 {
                    case 1: d.numValues = try r2.i32()
                    case 2: d.encoding = try r2.i32()
                    default: return false
                    }
                    return true
                }
                h.dataPage = d
            case 7:
                try r.expect(t, .structure, "dictionary_page_header")
                var n: Int32 = 0, enc: Int32 = 0
                try r.readStruct { r2, id2, _ in
                    switch id2 {
                    case 1: n = try r2.i32()
                    case 2: enc = try r2.i32()
                    default: return false
                    }
                    return true
                }
                h.dictionaryNumValues = n
                h.dictionaryEncoding = enc
            case 8:
                try r.expect(t, .structure, "data_page_header_v2")
                var d = DataPageHeaderV2()
                try r.readStruct { r2, id2, _ in
                    switch id2 {
                    case 1: d.numValues = try r2.i32()
                    case 2: d.numNulls = try r2.i32()
                    case 3: d.numRows = try r2.i32()
                    case 4: d.encoding = try r2.i32()
                    case 5: d.defLength = try r2.i32()
                    case 6: d.repLength = try r2.i32()
                    case 7: d.isCompressed = r2.lastBool
                    default: return false
                    }
                    return true
                }
                h.dataPageV2 = d
            default: return false
            }
            return true
        }
        return h
    }
}
