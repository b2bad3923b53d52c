/// SplitMix64 (Steele, Lea and Flood, 2014): the project's one seeded generator and 64-bit mixer.
/// Level hashes, the shard partition's sampling, synthetic data, quality samples and item
/// fingerprints all derive from it, so their outputs (and the bytes of every file built from them)
/// depend on these constants alone.
package struct SplitMix64: Sendable {
    /// The golden-ratio step added to the state before each output.
    package static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The output function, a bijection on 64 bits.
    @inline(__always)
    package static func finalize(_ x: UInt64) -> UInt64 {
        var z = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The generator's first output from state `x`, used as a hash of `x`.
    @inline(__always)
    package static func mix(_ x: UInt64) -> UInt64 { finalize(x &+ increment) }

    package var state: UInt64

    package init(seed: UInt64) { state = seed }

    package mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.finalize(state)
    }
}
