/// Errors raised by the index. Each message says what is wrong and, where it helps, what to do.
public enum HNSWError: Error, Equatable, CustomStringConvertible, Sendable {
    case invalidParameter(String)
    case dimensionMismatch(expected: Int, got: Int)
    case labelNotFound(UInt64)
    case duplicateLabel(UInt64)
    case capacityExceeded(capacity: Int, needed: Int)
    case io(path: String, message: String)
    case corruptFile(path: String, message: String)
    case invalidGraph(String)
    case cancelled

    public var description: String {
        switch self {
        case .invalidParameter(let m): return "invalid index parameter: \(m)"
        case .dimensionMismatch(let e, let g): return "vector dimension mismatch: the index has dimension \(e), got \(g)"
        case .labelNotFound(let l): return "label \(l) is not in the index"
        case .duplicateLabel(let l): return "label \(l) appears more than once"
        case .capacityExceeded(let c, let n):
            return "the index holds at most \(c) elements and \(n) are needed; resize it first"
        case .io(let p, let m): return "\(p): \(m)"
        case .corruptFile(let p, let m): return "\(p): not a valid hnswlib index: \(m)"
        case .invalidGraph(let m): return "invalid shard graph: \(m)"
        case .cancelled: return "the build was cancelled"
        }
    }
}
