/// Distinct byte strings and their codes, in first-seen order: an open-addressing table of codes
/// that hashes and compares the bytes in place, so interning a value allocates nothing.
struct ByteStringInterner {
    private(set) var values = ByteArrays()
    private var slots = [Int32](repeating: -1, count: 1024)
    private var hashes: [UInt64] = []

    var count: Int { values.count }

    @inline(__always)
    static func hash(_ p: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(p.count)
        var i = 0
        while i + 8 <= p.count {
            h = (h ^ p.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
            h ^= h >> 32
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < p.count {
            tail |= UInt64(p[i]) << shift
            shift += 8
            i += 1
        }
        h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 29)
    }

    /// The code of `bytes`, adding it when new.
    mutating func intern(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        let h = Self.hash(bytes)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let code = slots[i]
            if code < 0 { break }
            if hashes[Int(code)] == h && equals(Int(code), bytes) { return code }
            i = (i + 1) & mask
        }
        let code = Int32(values.count)
        values.append(bytes)
        hashes.append(h)
        slots[i] = code
        if values.count * 2 > slots.count { grow() }
        return code
    }

    /// The code of `bytes`, or nil when it was never interned.
    func code(of bytes: UnsafeRawBufferPointer) -> Int32? {
        let h = Self.hash(bytes)
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let code = slots[i]
            if code < 0 { return nil }
            if hashes[Int(code)] == h && equals(Int(code), bytes) { return code }
            i = (i + 1) & mask
        }
    }

    mutating func intern(_ bytes: ArraySlice<UInt8>) -> Int32 {
        bytes.withUnsafeBytes { intern($0) }
    }

    private func equals(_ code: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let a = values.offsets[code], b = values.offsets[code + 1]
        guard b - a == bytes.count else { return false }
        return values.data.withUnsafeBytes { d in
            bytes.count == 0 || memcmp(d.baseAddress! + a, bytes.baseAddress!, bytes.count) == 0
        }
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: -1, count: slots.count * 2)
        let mask = bigger.count - 1
        for code in 0..<hashes.count {
            var i = Int(truncatingIfNeeded: hashes[code]) & mask
            while bigger[i] >= 0 { i = (i + 1) & mask }
            bigger[i] = Int32(code)
        }
        slots = bigger
    }
}

#if canImport(Glibc)
import Glibc
#endif
