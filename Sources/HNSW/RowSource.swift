/// Rows delivered once, in order, a block at a time (`dim` floats each): what a build copies into
/// its records. A source backed by a file lets the caller drop its own copy of the vectors first.
public protocol RowSource {
    /// Writes the next `count` rows into `dest`.
    func next(_ count: Int, into dest: UnsafeMutablePointer<Float>) throws
}

/// The rows of a buffer the caller holds, in order.
public final class RowCursor: RowSource {
    let rows: UnsafeBufferPointer<Float>
    let dim: Int
    private var position = 0

    public init(_ rows: UnsafeBufferPointer<Float>, dim: Int) {
        self.rows = rows
        self.dim = dim
    }

    public func next(_ count: Int, into dest: UnsafeMutablePointer<Float>) throws {
        guard count >= 0, (position + count) * dim <= rows.count, let base = rows.baseAddress else {
            throw HNSWError.dimensionMismatch(expected: dim, got: rows.count / max(dim, 1))
        }
        dest.update(from: base + position * dim, count: count * dim)
        position += count
    }
}
