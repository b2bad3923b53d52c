/// Variable-length byte strings stored back to back: entry i is data[offsets[i]..<offsets[i+1]].
public struct ByteArrays: Sendable, Equatable {
    public private(set) var offsets: [Int] = [0]
    public private(set) var data: [UInt8] = []

    public init() {}

    public var count: Int { offsets.count - 1 }

    public subscript(i: Int) -> ArraySlice<UInt8> { data[offsets[i]..<offsets[i + 1]] }

    /// Entry i decoded as UTF-8 (invalid sequences become U+FFFD).
    public func string(_ i: Int) -> String { String(decoding: self[i], as: UTF8.self) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        data.append(contentsOf: bytes)
        offsets.append(data.count)
    }

    mutating func append<C: Collection>(contentsOf bytes: C) where C.Element == UInt8 {
        data.append(contentsOf: bytes)
        offsets.append(data.count)
    }

    mutating func appendEmpty() { offsets.append(data.count) }

    /// Appends every entry of `other`.
    mutating func append(all other: ByteArrays) {
        let base = data.count
        data.append(contentsOf: other.data)
        offsets.reserveGrowing(offsets.count + other.count)
        for i in 1..<other.offsets.count { offsets.append(base + other.offsets[i]) }
    }

    mutating func reserve(entries: Int, bytes: Int) {
        offsets.reserveCapacity(entries + 1)
        data.reserveCapacity(bytes)
    }
}

extension Array {
    /// Room for `needed` elements, grown geometrically: an exact `reserveCapacity` on every page
    /// reallocated the whole column each time, which made reading 10M rows quadratic.
    mutating func reserveGrowing(_ needed: Int) {
        if capacity < needed { reserveCapacity(Swift.max(needed, capacity * 2)) }
    }
}

/// The values of one column, one entry per row. Missing rows hold a placeholder (0, false, empty,
/// or code −1) and are marked in `ParquetColumnData.validity`.
public enum ParquetValues: Sendable, Equatable {
    case boolean([Bool])
    case int32([Int32])
    /// INT64 values, and INT96 timestamps converted to nanoseconds since the Unix epoch.
    case int64([Int64])
    case float([Float])
    case double([Double])
    /// BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY values without a dictionary.
    case bytes(ByteArrays)
    /// Dictionary-encoded byte strings: per-row codes into distinct `values` (−1 when missing).
    case dictionary(codes: [Int32], values: ByteArrays)
}

/// One column read from a file (all row groups asked for, concatenated).
public struct ParquetColumnData: Sendable {
    public var descriptor: ParquetColumnDescriptor
    /// nil when no row is missing; otherwise true where a value is present.
    public var validity: [Bool]?
    public var values: ParquetValues
    public var count: Int

    /// True when row `i` holds a value.
    public func isValid(_ i: Int) -> Bool { validity?[i] ?? true }
}
