#if canImport(Glibc)
import Glibc
#endif

/// Summary of one row group, for `trainer parquet schema`.
public struct ParquetRowGroupInfo: Sendable {
    public var rows: Int
    /// Codec of each column chunk, in leaf order.
    public var codecs: [Codec]
}

/// A Parquet file opened for reading: the footer is parsed and checked at open; column chunks are
/// read on demand, so callers can project columns and stream row groups with bounded memory.
public final class ParquetReader {
    public let path: String
    public let schema: ParquetSchema
    public let rowCount: Int
    public let createdBy: String?
    public let rowGroups: [ParquetRowGroupInfo]
    private let meta: FileMetaData
    private let fd: Int32
    private let fileSize: Int
    private let dataEnd: Int

    public init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ParquetError.io(path: path, message: "cannot open: \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR else {
            close(fd)
            throw ParquetError.io(path: path, message: "is not a readable file")
        }
        fileSize = Int(st.st_size)
        do {
            guard fileSize >= 12 else { throw DecodeError("the file is \(fileSize) bytes, too short for Parquet") }
            let head = try Self.pread(fd, 0, 4, path)
            let tail = try Self.pread(fd, fileSize - 8, 8, path)
            let magicTail = Array(tail[4..<8])
            if magicTail == Array("PARE".utf8) {
                throw ParquetError.unsupported(path: path, message: "the footer is encrypted (PARE)")
            }
            guard head == Array("PAR1".utf8), magicTail == Array("PAR1".utf8) else {
                throw DecodeError("the PAR1 magic is missing at the start or end")
            }
            let footerLength = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
            guard footerLength > 0, footerLength <= fileSize - 12 else {
                throw DecodeError("the footer length \(footerLength) does not fit in a \(fileSize)-byte file")
            }
            dataEnd = fileSize - 8 - footerLength
            let footer = try Self.pread(fd, dataEnd, footerLength, path)
            let m = try footer.withUnsafeBytes { buf in
                var r = ThriftReader(buf)
                return try r.fileMetaData()
            }
            meta = m
            schema = try ParquetSchema(elements: m.schema)
            guard m.numRows >= 0 else { throw DecodeError("num_rows is \(m.numRows)") }
            var total = 0
            var groups: [ParquetRowGroupInfo] = []
            for (gi, g) in m.rowGroups.enumerated() {
                guard g.numRows >= 0, g.numRows <= Int64(Int32.max) else { throw DecodeError("row group \(gi) claims \(g.numRows) rows") }
                guard g.columns.count == schema.columns.count else {
                    throw DecodeError("row group \(gi) has \(g.columns.count) column chunks for \(schema.columns.count) columns")
                }
                total += Int(g.numRows)
                groups.append(ParquetRowGroupInfo(rows: Int(g.numRows), codecs: g.columns.map {
                    Codec(rawValue: $0.meta?.codec ?? 0) ?? .uncompressed
                }))
            }
            guard Int64(total) == m.numRows else {
                throw DecodeError("the row groups hold \(total) rows but the footer says \(m.numRows)")
            }
            rowCount = total
            rowGroups = groups
            createdBy = m.createdBy
        } catch let e as DecodeError {
            close(fd)
            throw ParquetError.corrupt(path: path, message: e.message)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    private static func pread(_ fd: Int32, _ offset: Int, _ count: Int, _ path: String) throws -> [UInt8] {
        try [UInt8](filling: count) { out in
            guard let base = out.baseAddress else { return }
            var done = 0
            while done < count {
                let n = Glibc.pread(fd, base + done, count - done, off_t(offset + done))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw ParquetError.io(path: path, message: "read failed at byte \(offset + done)") }
                done += n
            }
        }
    }

    /// The descriptor of a column by name, or an error listing the columns that exist.
    public func column(named name: String) throws -> ParquetColumnDescriptor {
        guard let c = schema.columns.first(where: { $0.name == name }) else {
            throw ParquetError.columnNotFound(path: path, column: name, available: schema.columns.map(\.name))
        }
        return c
    }

    /// Reads `columns` (all flat columns when nil) from the given row groups (all when nil),
    /// concatenated in file order. A requested nested column is an "unsupported" error.
    public func read(columns names: [String]? = nil, rowGroups groups: Range<Int>? = nil) throws -> [ParquetColumnData] {
        let wanted: [ParquetColumnDescriptor]
        if let names {
            wanted = try names.map { try column(named: $0) }
        } else {
            wanted = schema.columns.filter { !$0.isNested }
        }
        for c in wanted where c.isNested {
            throw ParquetError.unsupported(path: path, message: "column '\(c.name)' is nested (inside a group or repeated); only flat columns are read")
        }
        let range = groups ?? 0..<meta.rowGroups.count
        guard range.lowerBound >= 0, range.upperBound <= meta.rowGroups.count else {
            throw ParquetError.io(path: path, message: "row groups \(range) requested, the file has \(meta.rowGroups.count)")
        }
        var out: [ParquetColumnData] = []
        let rows = range.reduce(0) { total, g in total.addingReportingOverflow(Int(clamping: meta.rowGroups[g].numRows)).partialValue }
        for c in wanted {
            let builder = ColumnBuilder(c, expectedRows: rows)
            for g in range {
                do {
                    try readChunk(group: g, column: c, into: builder)
                } catch let e as DecodeError {
                    throw ParquetError.corrupt(path: path, message: "column '\(c.name)', row group \(g): \(e.message)")
                }
            }
            out.append(builder.finish())
        }
        return out
    }

    /// Calls `body` with each row group's columns in turn, so memory stays bounded by one row group.
    public func forEachRowGroup(columns names: [String]? = nil, _ body: (Int, [ParquetColumnData]) throws -> Void) throws {
        for g in 0..<meta.rowGroups.count { try body(g, try read(columns: names, rowGroups: g..<(g + 1))) }
    }

    private func readChunk(group g: Int, column c: ParquetColumnDescriptor, into builder: ColumnBuilder) throws {
        let rg = meta.rowGroups[g]
        let chunk = rg.columns[c.leafIndex]
        if chunk.encrypted { throw ParquetError.unsupported(path: path, message: "column '\(c.name)' is encrypted") }
        if let fp = chunk.filePath, !fp.isEmpty {
            throw ParquetError.unsupported(path: path, message: "column '\(c.name)' lives in another file (\(fp))")
        }
        guard let m = chunk.meta else { throw DecodeError("the column chunk has no metadata") }
        guard m.type == c.physicalType else { throw DecodeError("chunk type \(m.type) disagrees with the schema's \(c.physicalType)") }
        guard let codec = Codec(rawValue: m.codec) else { throw DecodeError("unknown codec \(m.codec)") }
        if codec == .lzo || codec == .lz4 {
            throw ParquetError.unsupported(path: path, message: "column '\(c.name)' uses codec \(codec) (use LZ4_RAW, ZSTD or SNAPPY)")
        }
        let rows = Int(rg.numRows)
        // An empty row group (pyarrow writes one for an empty table) may carry no pages at all.
        if rows == 0 && m.numValues == 0 { return }
        guard m.numValues == Int64(rows) else { throw DecodeError("the chunk holds \(m.numValues) values for \(rows) rows") }
        var start = m.dataPageOffset
        if let dp = m.dictionaryPageOffset, dp > 0, dp < start { start = dp }
        let length = m.totalCompressedSize
        guard start >= 4, length >= 0, start <= Int64(dataEnd), length <= Int64(dataEnd) - start else {
            throw DecodeError("the chunk's bytes \(start)+\(length) fall outside the data section (4…\(dataEnd))")
        }
        let bytes = try Self.pread(fd, Int(start), Int(length), path)
        builder.beginChunk(hasDictionary: (m.dictionaryPageOffset ?? 0) > 0 || bytesStartWithDictionary(bytes))
        try bytes.withUnsafeBytes { buf in
            var pos = 0
            var done = 0
            var defs: [UInt32] = []
            while done < rows {
                guard pos < buf.count else { throw DecodeError("the pages end after \(done) of \(rows) values") }
                var r = ThriftReader(buf, at: pos)
                let h = try r.pageHeader()
                pos = r.pos
                let size = Int(h.compressedSize)
                guard size >= 0, size <= buf.count - pos else {
                    throw DecodeError("a page of \(h.compressedSize) bytes runs past the chunk")
                }
                let body = UnsafeRawBufferPointer(rebasing: buf[pos..<(pos + size)])
                pos += size
                switch h.type {
                case 2:
                    guard let n = h.dictionaryNumValues, n >= 0 else { throw DecodeError("a dictionary page without its header") }
                    guard h.dictionaryEncoding == 0 || h.dictionaryEncoding == 2 else {
                        throw DecodeError("dictionary page encoding \(h.dictionaryEncoding)")
                    }
                    let raw = try Compression.decompress(codec, body, size: Int(h.uncompressedSize))
                    let values = try raw.withUnsafeBytes {
                        try ValueDecoder.plain($0, count: Int(n), type: c.physicalType, length: c.typeLength)
                    }
                    builder.setDictionary(values)
                case 0:
                    guard let dp = h.dataPage else { throw DecodeError("a data page without its header") }
                    let n = Int(dp.numValues)
                    guard n >= 0, n <= rows - done else { throw DecodeError("a page claims \(dp.numValues) values, \(rows - done) remain") }
                    let raw = try Compression.decompress(codec, body, size: Int(h.uncompressedSize))
                    try raw.withUnsafeBytes { page in
                        var cur = ByteCursor(page)
                        var levels: [UInt32]? = nil
                        if c.maxDefinitionLevel > 0 {
                            let len = Int(try cur.u32())
                            try Hybrid.decode(try cur.take(len), width: Hybrid.width(for: c.maxDefinitionLevel), count: n, into: &defs)
                            levels = defs
                        }
                        let present = levels.map { $0.reduce(0) { $0 + ($1 == UInt32(c.maxDefinitionLevel) ? 1 : 0) } } ?? n
                        let values = try ValueDecoder.decode(dp.encoding, cur.rest(), count: present, column: c)
                        try builder.append(values, defs: levels, rows: n)
                    }
                    done += n
                case 3:
                    guard let v2 = h.dataPageV2 else { throw DecodeError("a V2 data page without its header") }
                    let n = Int(v2.numValues)
                    guard n >= 0, n <= rows - done else { throw DecodeError("a page claims \(v2.numValues) values, \(rows - done) remain") }
                    guard v2.numNulls >= 0, Int(v2.numNulls) <= n else { throw DecodeError("a page claims \(v2.numNulls) nulls") }
                    let rl = Int(v2.repLength), dl = Int(v2.defLength)
                    guard rl >= 0, dl >= 0, rl + dl <= body.count, rl + dl <= Int(h.uncompressedSize) else {
                        throw DecodeError("level lengths \(rl)+\(dl) exceed the page")
                    }
                    var levels: [UInt32]? = nil
                    if c.maxDefinitionLevel > 0 {
                        try Hybrid.decode(UnsafeRawBufferPointer(rebasing: body[rl..<(rl + dl)]),
                                          width: Hybrid.width(for: c.maxDefinitionLevel), count: n, into: &defs)
                        levels = defs
                    }
                    let rest = UnsafeRawBufferPointer(rebasing: body[(rl + dl)...])
                    let valueBytes = Int(h.uncompressedSize) - rl - dl
                    let raw = v2.isCompressed ? try Compression.decompress(codec, rest, size: valueBytes) : [UInt8](rest)
                    let present = n - Int(v2.numNulls)
                    try raw.withUnsafeBytes { page in
                        let values = try ValueDecoder.decode(v2.encoding, page, count: present, column: c)
                        try builder.append(values, defs: levels, rows: n)
                    }
                    done += n
                default:
                    continue  // index pages and unknown page types are skipped
                }
            }
        }
    }

    /// Some writers leave dictionary_page_offset unset; peek at the first page's type instead.
    private func bytesStartWithDictionary(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buf in
            var r = ThriftReader(buf)
            return (try? r.pageHeader().type) == 2
        }
    }
}
