/// numpy's legacy `RandomState`: MT19937 seeded with init_genrand(seed), and the
/// `shuffle` that scikit-learn's `KFold(shuffle=True, random_state=seed)` uses.
/// Ported from the algorithm's description so fold assignments equal scikit-learn's.
public struct LegacyMT19937: Sendable {
    private var mt = [UInt32](repeating: 0, count: 624)
    private var index = 624

    public init(seed: UInt32) {
        mt[0] = seed
        for i in 1..<624 {
            mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    /// The next 32-bit output (genrand_int32).
    public mutating func next() -> UInt32 {
        if index >= 624 { twist() }
        var y = mt[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (mt[i] & 0x8000_0000) | (mt[(i + 1) % 624] & 0x7FFF_FFFF)
            var v = mt[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { v ^= 0x9908_B0DF }
            mt[i] = v
        }
        index = 0
    }

    /// A uniform integer in 0...max by masked rejection (numpy's legacy `rk_interval`).
    public mutating func interval(_ max: UInt64) -> UInt64 {
        if max == 0 { return 0 }
        var mask = max
        mask |= mask >> 1
        mask |= mask >> 2
        mask |= mask >> 4
        mask |= mask >> 8
        mask |= mask >> 16
        mask |= mask >> 32
        if max <= 0xFFFF_FFFF {
            while true {
                let v = UInt64(next()) & mask
                if v <= max { return v }
            }
        }
        while true {
            let v = (UInt64(next()) << 32 | UInt64(next())) & mask
            if v <= max { return v }
        }
    }

    /// Shuffles in place like `RandomState.shuffle` on a 1-D array: Fisher–Yates from the end.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, through: 1, by: -1) {
            let j = Int(interval(UInt64(i)))
            a.swapAt(i, j)
        }
    }
}

/// scikit-learn's `KFold(n_splits, shuffle=True, random_state=seed)` test folds over 0..<n.
public enum KFoldSplit {
    /// The fold of each of the n positions.
    public static func folds(n: Int, splits: Int, seed: UInt32) -> [Int] {
        var order = Array(0..<n)
        var rng = LegacyMT19937(seed: seed)
        rng.shuffle(&order)
        var fold = [Int](repeating: 0, count: n)
        var start = 0
        for k in 0..<splits {
            let size = n / splits + (k < n % splits ? 1 : 0)
            for p in start..<(start + size) { fold[order[p]] = k }
            start += size
        }
        return fold
    }
}
