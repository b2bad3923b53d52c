/// Errors reading or writing Parquet files. Each names the file and says what is wrong.
public enum ParquetError: Error, Equatable, CustomStringConvertible, Sendable {
    /// The file cannot be opened or read.
    case io(path: String, message: String)
    /// The file is not Parquet, or its bytes contradict themselves.
    case corrupt(path: String, message: String)
    /// Valid Parquet that this reader does not handle (encryption, nested columns asked for, …).
    case unsupported(path: String, message: String)
    /// A requested column is not in the file.
    case columnNotFound(path: String, column: String, available: [String])

    public var description: String {
        switch self {
        case .io(let p, let m): return "\(p): \(m)"
        case .corrupt(let p, let m): return "\(p): corrupt or not a Parquet file: \(m)"
        case .unsupported(let p, let m): return "\(p): unsupported Parquet feature: \(m)"
        case .columnNotFound(let p, let c, let a):
            return "\(p): no column '\(c)' (the file has: \(a.joined(separator: ", ")))"
        }
    }
}

/// A decoding failure inside a buffer, before the file path is known; the reader wraps it.
struct DecodeError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
