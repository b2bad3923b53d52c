import HNSW
#if canImport(Glibc)
import Glibc
#endif

/// Seeded synthetic float32 data for demos, tests and benchmarks.
public enum SyntheticVectors {
    /// xoshiro256** seeded through splitmix64: fast, reproducible across platforms.
    public struct Generator: RandomNumberGenerator, Sendable {
        private var s: (UInt64, UInt64, UInt64, UInt64)

        public init(seed: UInt64) {
            var g = SplitMix64(seed: seed)
            s = (g.next(), g.next(), g.next(), g.next())
        }

        public mutating func next() -> UInt64 {
            let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
            let t = s.1 << 17
            s.2 ^= s.0
            s.3 ^= s.1
            s.1 ^= s.2
            s.0 ^= s.3
            s.2 ^= t
            s.3 = s.3 << 45 | s.3 >> 19
            return result
        }

        /// A standard normal draw (Box–Muller).
        public mutating func normal() -> Double {
            let u1 = Double((next() >> 11) + 1) * 0x1p-53
            let u2 = Double(next() >> 11) * 0x1p-53
            return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        }
    }

    /// `rows` × `dim` standard normal values; with `clusters` > 0, a Gaussian mixture of that many
    /// components (centres ~ N(0, 4²), spread N(0, 1)).
    public static func make(rows: Int, dim: Int, seed: UInt64, clusters: Int = 0) -> FloatMatrix {
        var g = Generator(seed: seed)
        var values = [Float](repeating: 0, count: rows * dim)
        if clusters > 0 {
            let centres = (0..<(clusters * dim)).map { _ in Float(4 * g.normal()) }
            for r in 0..<rows {
                let c = Int(g.next() % UInt64(clusters))
                for j in 0..<dim { values[r * dim + j] = centres[c * dim + j] + Float(g.normal()) }
            }
        } else {
            for i in 0..<values.count { values[i] = Float(g.normal()) }
        }
        return FloatMatrix(rows: rows, cols: dim, values: values)
    }
}
