#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Levels come from a hash of (label, seed), so an element's level never depends on insertion
/// order, thread count or shard: the same catalog always gets the same layer structure.
public enum Levels {
    /// The level of `label`: floor(−ln(U) · mult) with U in (0, 1] drawn from the hash.
    public static func level(label: UInt64, seed: UInt64, mult: Double) -> Int {
        let h = SplitMix64.mix(SplitMix64.mix(label) ^ SplitMix64.mix(seed &+ 0x632B_E59B_D9B4_E019))
        let u = Double((h >> 11) + 1) * 0x1p-53
        let l = -log(u) * mult
        return l.isFinite ? min(Int(l), 64) : 0
    }
}
