import CKernels

/// The distance space of an index, named as hnswlib's Python binding names it.
public enum Space: String, Sendable, CaseIterable, Codable {
    /// Vectors are normalised on insert and query; distance = 1 − dot.
    case cosine
    /// Inner product; distance = 1 − dot, no normalisation.
    case ip
    /// Squared Euclidean distance.
    case l2

    /// The kernel kind used by the batch distance function.
    var kernelKind: Int32 { self == .l2 ? Int32(HK_L2) : Int32(HK_IP) }
}

/// Distance kernels on raw float pointers, dispatched at start-up to the best instruction set.
public enum Distance {
    /// The instruction set the kernels run on ("avx512", "avx2" or "scalar").
    public static var isa: String { String(cString: hk_isa()) }

    /// Forces a kernel family, for benchmarks and tests. Returns false when this CPU lacks it.
    @discardableResult
    public static func force(isa: String) -> Bool { hk_force_isa(isa) != 0 }

    /// The distance between two vectors of length `dim` in `space`.
    @inline(__always)
    public static func between(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, dim: Int, space: Space) -> Float {
        space == .l2 ? hk_l2sq(a, b, dim) : 1 - hk_dot(a, b, dim)
    }

    /// Normalises `v` in place exactly as hnswlib's Python binding does for the cosine space:
    /// a sequential float32 sum of squares, then x · 1/(√Σ + 1e-30).
    public static func normalize(_ v: UnsafeMutablePointer<Float>, dim: Int) {
        var sum: Float = 0
        for i in 0..<dim { sum += v[i] * v[i] }
        let scale: Float = 1 / (sum.squareRoot() + 1e-30)
        for i in 0..<dim { v[i] *= scale }
    }
}
