import Foundation
import HNSW

/// Errors reading or writing `.npy` files; each names the file.
public enum NPYError: Error, Equatable, CustomStringConvertible, Sendable {
    case io(path: String, message: String)
    case format(path: String, message: String)

    public var description: String {
        switch self {
        case .io(let p, let m): return "\(p): \(m)"
        case .format(let p, let m): return "\(p): not a float32 .npy matrix: \(m)"
        }
    }
}

/// A row-major float32 matrix, as stored in `.npy` files.
public struct FloatMatrix: Equatable, Sendable {
    public var rows: Int
    public var cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "matrix shape and value count disagree")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Float] { Array(values[(i * cols)..<((i + 1) * cols)]) }
}

/// Reads and writes numpy `.npy` files (format 1.0–3.0) holding 2-D little-endian float32 C-order data.
public enum NPY {
    static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Reads a float32 (N, D) matrix. Other dtypes, Fortran order, other ranks and truncated
    /// or over-long files are refused with an error naming the file and the problem.
    public static func read(path: String) throws -> FloatMatrix {
        let (r, n, d) = try open(path: path)
        var values = [Float](repeating: 0, count: n * d)
        if !values.isEmpty {
            try wrapIO(path) { try values.withUnsafeMutableBytes { try r.read(into: $0.baseAddress.unsafelyUnwrapped, count: $0.count) } }
        }
        return FloatMatrix(rows: n, cols: d, values: values)
    }

    /// The rows of a float32 (N, D) `.npy` file read in order, a block at a time: a build can take
    /// the vectors from the file it staged instead of keeping a copy of them in memory.
    public final class RowStream: RowSource {
        public let path: String
        public let rows: Int
        public let cols: Int
        private let reader: FileIO.Reader
        private var delivered = 0

        /// Opens `path` and checks it holds `rows` × `cols` float32 values.
        public init(path: String, rows: Int, cols: Int) throws {
            let (r, n, d) = try NPY.open(path: path)
            guard n == rows, d == cols else {
                throw NPYError.format(path: path, message: "shape (\(n), \(d)), expected (\(rows), \(cols))")
            }
            self.path = path
            self.rows = rows
            self.cols = cols
            reader = r
        }

        /// Writes the next `count` rows into `dest`.
        public func next(_ count: Int, into dest: UnsafeMutablePointer<Float>) throws {
            guard count >= 0, count <= rows - delivered else {
                throw NPYError.io(path: path, message: "asked for rows \(delivered)..<\(delivered + count) of \(rows)")
            }
            try NPY.wrapIO(path) { try reader.read(into: dest, count: count * cols * 4) }
            delivered += count
        }
    }

    /// Opens a float32 (N, D) `.npy` file and checks its header and size: the reader stands at
    /// the first value.
    static func open(path: String) throws -> (FileIO.Reader, Int, Int) {
        let r: FileIO.Reader
        do { r = try FileIO.Reader(path: path) } catch let e as HNSWError { throw NPYError.io(path: path, message: ioMessage(e)) }
        func bad(_ m: String) -> NPYError { .format(path: path, message: m) }
        guard r.size >= 10 else { throw bad("the file is \(r.size) bytes, too short for a .npy header") }
        var pre = [UInt8](repeating: 0, count: 8)
        try wrapIO(path) { try pre.withUnsafeMutableBytes { try r.read(into: $0.baseAddress.unsafelyUnwrapped, count: 8) } }
        guard Array(pre[0..<6]) == magic else { throw bad("missing the \\x93NUMPY magic") }
        let major = pre[6]
        let headerLength: Int
        switch major {
        case 1: headerLength = Int(try wrapIO(path) { try r.read(UInt16.self) })
        case 2, 3:
            guard r.remaining >= 4 else { throw bad("truncated header") }
            headerLength = Int(try wrapIO(path) { try r.read(UInt32.self) })
        default: throw bad("unsupported format version \(major).\(pre[7])")
        }
        guard headerLength <= r.remaining, headerLength <= 1 << 20 else {
            throw bad("header length \(headerLength) runs past the end of the file")
        }
        var headerBytes = [UInt8](repeating: 0, count: headerLength)
        try wrapIO(path) { try headerBytes.withUnsafeMutableBytes { try r.read(into: $0.baseAddress.unsafelyUnwrapped, count: headerLength) } }
        let (n, d) = try parseHeader(String(decoding: headerBytes, as: UTF8.self), bad: bad)
        let (cells, o1) = n.multipliedReportingOverflow(by: d)
        let (bytes, o2) = cells.multipliedReportingOverflow(by: 4)
        guard !o1, !o2 else { throw bad("shape (\(n), \(d)) is too large") }
        guard r.remaining >= bytes else {
            throw bad("truncated: shape (\(n), \(d)) needs \(bytes) data bytes, the file has \(r.remaining)")
        }
        guard r.remaining == bytes else { throw bad("\(r.remaining - bytes) unexpected bytes after the data") }
        return (r, n, d)
    }

    /// The reason alone: the path is named once, by NPYError.
    private static func ioMessage(_ e: HNSWError) -> String {
        if case .io(_, let m) = e { return m }
        return "\(e)"
    }

    fileprivate static func wrapIO<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as HNSWError { throw NPYError.io(path: path, message: ioMessage(e)) }
    }

    /// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (N, D), }`.
    static func parseHeader(_ text: String, bad: (String) -> NPYError) throws -> (Int, Int) {
        func value(of key: String) -> Substring? {
            guard let k = text.range(of: "'\(key)'") else { return nil }
            var rest = text[k.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        guard let descr = value(of: "descr") else { throw bad("the header has no 'descr'") }
        let dtype = descr.dropFirst().prefix { $0 != "'" && $0 != "\"" }
        guard dtype == "<f4" else {
            throw bad("dtype is '\(dtype)', expected '<f4' (little-endian float32); convert with arr.astype('<f4')")
        }
        guard let fortran = value(of: "fortran_order") else { throw bad("the header has no 'fortran_order'") }
        if fortran.hasPrefix("True") { throw bad("Fortran order is not supported; save with np.ascontiguousarray(arr)") }
        guard fortran.hasPrefix("False") else { throw bad("unreadable 'fortran_order'") }
        guard let shapeText = value(of: "shape"), shapeText.first == "(" else { throw bad("the header has no 'shape' tuple") }
        let inner = shapeText.dropFirst().prefix { $0 != ")" }
        let dims = inner.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
        let parsed = dims.compactMap { Int($0) }
        guard parsed.count == dims.count, parsed.allSatisfy({ $0 >= 0 }) else { throw bad("unreadable shape (\(inner))") }
        guard parsed.count == 2 else { throw bad("shape (\(inner)) has \(parsed.count) dimensions, expected 2 (rows, dim)") }
        return (parsed[0], parsed[1])
    }

    /// Writes `matrix` as format 1.0, atomically (temporary file, then rename).
    public static func write(_ matrix: FloatMatrix, to path: String) throws {
        var dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(matrix.rows), \(matrix.cols)), }"
        let unpadded = magic.count + 2 + 2 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        do {
            let w = try FileIO.AtomicWriter(path: path)
            try magic.withUnsafeBytes { try w.write($0.baseAddress!, count: $0.count) }
            try w.write(UInt8(1))
            try w.write(UInt8(0))
            try w.write(UInt16(dict.utf8.count))
            let bytes = Array(dict.utf8)
            try bytes.withUnsafeBytes { try w.write($0.baseAddress!, count: bytes.count) }
            if !matrix.values.isEmpty {
                try matrix.values.withUnsafeBytes { try w.write($0.baseAddress!, count: $0.count) }
            }
            try w.commit()
        } catch let e as HNSWError {
            throw NPYError.io(path: path, message: "\(e)")
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return s
    }
}
