/// Numeric helpers that reproduce numpy's definitions exactly (in Float64).
public enum Statistics {
    /// numpy.percentile with linear interpolation: position p/100·(n−1) over the sorted values.
    public static func percentile(sorted v: [Double], _ p: Double) -> Double {
        precondition(!v.isEmpty, "percentile of no values")
        let pos = p / 100 * Double(v.count - 1)
        let lo = Int(pos.rounded(.down))
        let hi = min(lo + 1, v.count - 1)
        let frac = pos - Double(lo)
        // numpy's _lerp: a + (b − a)·t, switched to b − (b − a)·(1 − t) for t ≥ 0.5.
        let a = v[lo], b = v[hi]
        let diff = b - a
        return frac >= 0.5 ? b - diff * (1 - frac) : a + diff * frac
    }

    /// numpy.median: the middle value, or the mean of the two middle values.
    public static func median(sorted v: [Double]) -> Double {
        precondition(!v.isEmpty, "median of no values")
        let n = v.count
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2
    }

    /// Weighted mean and population variance (StandardScaler with sample_weight).
    public static func weightedMeanVariance(_ x: [Double], weights w: [Double]?) -> (mean: Double, variance: Double) {
        var sw = 0.0, swx = 0.0
        for i in x.indices {
            let wi = w?[i] ?? 1
            sw += wi
            swx += wi * x[i]
        }
        guard sw > 0 else { return (0, 0) }
        let mean = swx / sw
        var ss = 0.0
        for i in x.indices {
            let d = x[i] - mean
            ss += (w?[i] ?? 1) * d * d
        }
        return (mean, ss / sw)
    }
}
