// The Parquet reader: footer (Thrift compact), schema, row groups, pages of every type, every codec
// and encoding. Refused with ParquetError naming the file, or read whole, row group by row group.
import Shared

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzParquet(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Scratch.write(UnsafeRawBufferPointer(start: data, count: size))
    do {
        let r = try ParquetReader(path: path)
        var rows = 0
        try r.forEachRowGroup { g, columns in
            for c in columns { check(c, rows: r.rowGroups[g].rows) }
            rows += r.rowGroups[g].rows
        }
        if rows != r.rowCount { abortWith("\(rows) rows read, the footer says \(r.rowCount)") }
    } catch let e as ParquetError {
        switch e {
        case .io(let p, _), .corrupt(let p, _), .unsupported(let p, _), .columnNotFound(let p, _, _):
            if p != path { abortWith("the error names \(p)") }
        }
    } catch {
        abortWith("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}

/// One entry per row in every representation, and dictionary codes that index the dictionary.
func check(_ c: ParquetColumnData, rows: Int) {
    let name = c.descriptor.name
    if c.count != rows { abortWith("column \(name) has \(c.count) values in a row group of \(rows) rows") }
    if let v = c.validity, v.count != rows { abortWith("column \(name) has \(v.count) validity flags for \(rows) rows") }
    let n: Int
    switch c.values {
    case .boolean(let a): n = a.count
    case .int32(let a): n = a.count
    case .int64(let a): n = a.count
    case .float(let a): n = a.count
    case .double(let a): n = a.count
    case .bytes(let b):
        n = b.count
        for i in 0..<b.count { _ = b[i] }
    case .dictionary(let codes, let values):
        n = codes.count
        for (i, k) in codes.enumerated() {
            if k < -1 || Int(k) >= values.count { abortWith("column \(name) row \(i) has code \(k) for \(values.count) values") }
            if k == -1 && c.isValid(i) { abortWith("column \(name) row \(i) is valid but has no code") }
            if k >= 0 { _ = values[Int(k)] }
        }
    }
    if n != rows { abortWith("column \(name) holds \(n) entries for \(rows) rows") }
}
