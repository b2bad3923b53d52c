/// Unsigned LEB128 varints and zigzag signed values, shared by the Thrift compact protocol and the
/// Parquet encodings.
enum LEB128 {
    /// Reads a varint at `pos`, advancing it; at most 10 bytes, never past the buffer.
    static func read(_ buf: UnsafeRawBufferPointer, _ pos: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard pos < buf.count else { throw DecodeError("a varint runs past the end of the data at byte \(pos)") }
            let b = buf[pos]
            pos += 1
            guard shift < 64 else { throw DecodeError("a varint is longer than 10 bytes (at byte \(pos))") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    static func unzigzag(_ v: UInt64) -> Int64 { Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1))) }

    static func zigzag(_ v: Int64) -> UInt64 { UInt64(bitPattern: (v << 1) ^ (v >> 63)) }

    static func append(_ v: UInt64, to out: inout [UInt8]) {
        var v = v
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }
}

/// Little helpers over untrusted byte buffers: every read is bounds-checked.
struct ByteCursor {
    let buf: UnsafeRawBufferPointer
    var pos = 0

    init(_ buf: UnsafeRawBufferPointer) { self.buf = buf }

    var remaining: Int { buf.count - pos }

    mutating func uleb() throws -> UInt64 { try LEB128.read(buf, &pos) }

    mutating func zigzag() throws -> Int64 { LEB128.unzigzag(try uleb()) }

    mutating func u32() throws -> UInt32 {
        guard remaining >= 4 else { throw DecodeError("a 4-byte length runs past the end of the page") }
        let v = UInt32(buf[pos]) | UInt32(buf[pos + 1]) << 8 | UInt32(buf[pos + 2]) << 16 | UInt32(buf[pos + 3]) << 24
        pos += 4
        return v
    }

    mutating func byte() throws -> UInt8 {
        guard pos < buf.count else { throw DecodeError("the page ends early") }
        defer { pos += 1 }
        return buf[pos]
    }

    mutating func take(_ n: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw DecodeError("a run of \(n) bytes runs past the end of the page") }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: buf[pos..<(pos + n)])
    }

    func rest() -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: buf[pos...]) }
}

/// Reads `width` bits (≤ 64) starting at bit `bit`, least significant bit first.
@inline(__always)
func bitsAt(_ p: UnsafeRawBufferPointer, _ bit: Int, _ width: Int) -> UInt64 {
    if width == 0 { return 0 }
    var result: UInt64 = 0
    var got = 0
    var b = bit
    while got < width {
        let byte = UInt64(p[b >> 3])
        let off = b & 7
        let take = min(8 - off, width - got)
        result |= ((byte >> UInt64(off)) & ((1 << UInt64(take)) - 1)) << UInt64(got)
        got += take
        b += take
    }
    return result
}

/// The RLE / bit-packed hybrid (levels, dictionary indices, booleans).
enum Hybrid {
    /// Decodes exactly `count` values of `width` bits into `out`.
    static func decode(_ buf: UnsafeRawBufferPointer, width: Int, count: Int, into out: inout [UInt32]) throws {
        guard width >= 0, width <= 32 else { throw DecodeError("a hybrid run has bit width \(width)") }
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(min(count, 1 << 20))
        var c = ByteCursor(buf)
        let valueBytes = (width + 7) / 8
        while out.count < count {
            let header = try c.uleb()
            let need = count - out.count
            if header & 1 == 1 {
                let groups = header >> 1
                guard groups <= UInt64(Int32.max) else { throw DecodeError("a bit-packed run is too long") }
                let values = Int(groups) * 8
                let take = min(values, need)
                let bytes = Int(groups) * width
                let usable = min(bytes, c.remaining)
                guard (take * width + 7) / 8 <= usable else { throw DecodeError("a bit-packed run runs past the end") }
                let run = UnsafeRawBufferPointer(rebasing: c.buf[c.pos..<(c.pos + usable)])
                if width == 0 {
                    out.append(contentsOf: repeatElement(0, count: take))
                } else {
                    // Whole 8-byte loads while they stay inside the run; the tail bit by bit.
                    let mask = (UInt64(1) << UInt64(width)) - 1
                    var i = 0
                    while i < take && (i * width) / 8 + 8 <= run.count {
                        let bit = i * width
                        let word = run.loadUnaligned(fromByteOffset: bit >> 3, as: UInt64.self)
                        out.append(UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask))
                        i += 1
                    }
                    while i < take {
                        out.append(UInt32(truncatingIfNeeded: bitsAt(run, i * width, width)))
                        i += 1
                    }
                }
                c.pos += usable
            } else {
                let run = header >> 1
                let raw = try c.take(valueBytes)
                var v: UInt64 = 0
                for i in 0..<valueBytes { v |= UInt64(raw[i]) << (8 * UInt64(i)) }
                guard width == 32 || v < (1 << UInt64(width)) || width == 0 && v == 0 else {
                    throw DecodeError("an RLE value \(v) does not fit in \(width) bits")
                }
                let take = Int(min(run, UInt64(need)))
                out.append(contentsOf: repeatElement(UInt32(truncatingIfNeeded: v), count: take))
            }
        }
    }

    /// Bit width needed for values up to `max`.
    static func width(for max: Int) -> Int {
        var w = 0
        while (1 << w) <= max { w += 1 }
        return w
    }
}

/// DELTA_BINARY_PACKED, for INT32/INT64 values and the lengths inside the delta byte-array encodings.
enum DeltaBinaryPacked {
    /// Decodes `expected` values (or the stream's own count when nil); returns them and the bytes used.
    static func decode(_ buf: UnsafeRawBufferPointer, expected: Int?) throws -> (values: [Int64], used: Int) {
        var c = ByteCursor(buf)
        let blockSize = try c.uleb()
        let miniblocks = try c.uleb()
        let total = try c.uleb()
        var last = try c.zigzag()
        guard blockSize > 0, blockSize % 128 == 0, blockSize <= 1 << 20, miniblocks > 0, blockSize % miniblocks == 0,
              (blockSize / miniblocks) % 32 == 0 else {
            throw DecodeError("DELTA_BINARY_PACKED header has block size \(blockSize) and \(miniblocks) miniblocks")
        }
        if let expected, total != UInt64(expected) {
            throw DecodeError("DELTA_BINARY_PACKED holds \(total) values, the page expects \(expected)")
        }
        guard total <= UInt64(buf.count) * 64 + 1 else { throw DecodeError("DELTA_BINARY_PACKED claims \(total) values") }
        let n = Int(total)
        var values: [Int64] = []
        values.reserveCapacity(n)
        if n == 0 { return (values, c.pos) }
        values.append(last)
        let perMini = Int(blockSize / miniblocks)
        while values.count < n {
            let minDelta = try c.zigzag()
            let widths = try c.take(Int(miniblocks))
            for m in 0..<Int(miniblocks) where values.count < n {
                let w = Int(widths[m])
                guard w <= 64 else { throw DecodeError("DELTA_BINARY_PACKED miniblock width \(w)") }
                let body = try c.take(perMini * w / 8)
                let take = min(perMini, n - values.count)
                for i in 0..<take {
                    let delta = Int64(bitPattern: bitsAt(body, i * w, w))
                    last = last &+ minDelta &+ delta
                    values.append(last)
                }
            }
        }
        return (values, c.pos)
    }
}
