/// A fitted per-column affine map, (x − offset) / scale.
public struct Scaler: Codable, Equatable, Sendable {
    public var offset: Double
    public var scale: Double

    @inline(__always) public func apply(_ x: Double) -> Double { (x - offset) / scale }

    /// Fits `kind` (standard, robust, minmax, none) on `x`, with optional sample weights
    /// (only `standard` is weighted, as in scikit-learn).
    public static func fit(_ kind: String, _ x: [Double], weights: [Double]?) -> Scaler {
        // scikit-learn treats a scale below 10·ε as zero and uses 1 instead.
        func guarded(_ s: Double) -> Double { s < 10 * Double.ulpOfOne ? 1 : s }
        switch kind {
        case "standard":
            let (m, v) = Statistics.weightedMeanVariance(x, weights: weights)
            // scikit-learn's _is_constant_feature: a variance within rounding error of zero.
            let n = weights?.reduce(0, +) ?? Double(x.count)
            let eps = Double.ulpOfOne
            if v <= n * eps * v + (n * m * eps) * (n * m * eps) { return Scaler(offset: m, scale: 1) }
            return Scaler(offset: m, scale: guarded(v.squareRoot()))
        case "robust":
            let s = x.sorted()
            let q1 = Statistics.percentile(sorted: s, 25), q3 = Statistics.percentile(sorted: s, 75)
            return Scaler(offset: Statistics.median(sorted: s), scale: guarded(q3 - q1))
        case "minmax":
            let lo = x.min() ?? 0, hi = x.max() ?? 0
            return Scaler(offset: lo, scale: guarded(hi - lo))
        default:
            return Scaler(offset: 0, scale: 1)
        }
    }
}
