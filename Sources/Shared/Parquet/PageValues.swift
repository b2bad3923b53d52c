/// The non-null values of one data page (or a dictionary page), decoded.
enum PageValues {
    case bools([Bool])
    case i32([Int32])
    case i64([Int64])
    case f32([Float])
    case f64([Double])
    case bytes(ByteArrays)
    /// Dictionary indices, resolved against the chunk's dictionary page.
    case indices([UInt32])

    var count: Int {
        switch self {
        case .bools(let v): return v.count
        case .i32(let v): return v.count
        case .i64(let v): return v.count
        case .f32(let v): return v.count
        case .f64(let v): return v.count
        case .bytes(let v): return v.count
        case .indices(let v): return v.count
        }
    }
}

/// Value decoders for every encoding the reader supports.
enum ValueDecoder {
    static func decode(_ encoding: Int32, _ buf: UnsafeRawBufferPointer, count n: Int,
                       column d: ParquetColumnDescriptor) throws -> PageValues {
        guard let enc = Encoding(rawValue: encoding) else { throw DecodeError("unknown value encoding \(encoding)") }
        switch enc {
        case .plain:
            return try plain(buf, count: n, type: d.physicalType, length: d.typeLength)
        case .plainDictionary, .rleDictionary:
            var c = ByteCursor(buf)
            if n == 0 { return .indices([]) }
            let width = Int(try c.byte())
            var idx: [UInt32] = []
            try Hybrid.decode(c.rest(), width: width, count: n, into: &idx)
            return .indices(idx)
        case .rle:
            guard d.physicalType == .boolean else { throw DecodeError("RLE values for a \(d.physicalType) column") }
            var c = ByteCursor(buf)
            let len = Int(try c.u32())
            var bits: [UInt32] = []
            try Hybrid.decode(try c.take(len), width: 1, count: n, into: &bits)
            return .bools(bits.map { $0 != 0 })
        case .deltaBinaryPacked:
            let (v, _) = try DeltaBinaryPacked.decode(buf, expected: n)
            switch d.physicalType {
            case .int32: return .i32(v.map { Int32(truncatingIfNeeded: $0) })
            case .int64: return .i64(v)
            default: throw DecodeError("DELTA_BINARY_PACKED values for a \(d.physicalType) column")
            }
        case .deltaLengthByteArray:
            guard d.physicalType == .byteArray else { throw DecodeError("DELTA_LENGTH_BYTE_ARRAY for a \(d.physicalType) column") }
            return .bytes(try deltaLength(buf, count: n).values)
        case .deltaByteArray:
            guard d.physicalType == .byteArray || d.physicalType == .fixedLenByteArray else {
                throw DecodeError("DELTA_BYTE_ARRAY for a \(d.physicalType) column")
            }
            return .bytes(try deltaByteArray(buf, count: n))
        case .byteStreamSplit:
            return try byteStreamSplit(buf, count: n, column: d)
        case .bitPacked:
            throw DecodeError("the deprecated BIT_PACKED encoding is only supported for levels")
        }
    }

    static func plain(_ buf: UnsafeRawBufferPointer, count n: Int, type: PhysicalType, length: Int) throws -> PageValues {
        func need(_ bytes: Int) throws {
            guard bytes <= buf.count else { throw DecodeError("PLAIN data needs \(bytes) bytes for \(n) values, the page has \(buf.count)") }
        }
        switch type {
        case .boolean:
            try need((n + 7) / 8)
            return .bools((0..<n).map { (buf[$0 >> 3] >> UInt8($0 & 7)) & 1 != 0 })
        case .int32:
            try need(n * 4)
            return .i32(copyLittleEndian(buf, n, Int32.self))
        case .int64:
            try need(n * 8)
            return .i64(copyLittleEndian(buf, n, Int64.self))
        case .float:
            try need(n * 4)
            return .f32(copyLittleEndian(buf, n, Float.self))
        case .double:
            try need(n * 8)
            return .f64(copyLittleEndian(buf, n, Double.self))
        case .int96:
            try need(n * 12)
            return .i64((0..<n).map { i in
                let nanos = Int64(bitPattern: buf.loadUnaligned(fromByteOffset: i * 12, as: UInt64.self).littleEndian)
                let day = Int64(buf.loadUnaligned(fromByteOffset: i * 12 + 8, as: UInt32.self).littleEndian)
                return (day &- 2_440_588) &* 86_400_000_000_000 &+ nanos
            })
        case .byteArray:
            var out = ByteArrays()
            guard n <= buf.count / 4 else { throw DecodeError("PLAIN data cannot hold \(n) byte arrays in \(buf.count) bytes") }
            out.reserve(entries: n, bytes: max(0, buf.count - 4 * n))
            var c = ByteCursor(buf)
            for _ in 0..<n { out.append(try c.take(Int(try c.u32()))) }
            return .bytes(out)
        case .fixedLenByteArray:
            try need(n * length)
            var out = ByteArrays()
            out.reserve(entries: n, bytes: n * length)
            for i in 0..<n { out.append(UnsafeRawBufferPointer(rebasing: buf[(i * length)..<((i + 1) * length)])) }
            return .bytes(out)
        }
    }

    /// Copies `n` little-endian values (this reader runs on little-endian machines only).
    static func copyLittleEndian<T: BitwiseCopyable>(_ buf: UnsafeRawBufferPointer, _ n: Int, _: T.Type) -> [T] {
        [T](filling: n) { out in
            UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(rebasing: buf[..<(n * MemoryLayout<T>.size)]))
        }
    }

    static func deltaLength(_ buf: UnsafeRawBufferPointer, count n: Int) throws -> (values: ByteArrays, used: Int) {
        let (lengths, used) = try DeltaBinaryPacked.decode(buf, expected: n)
        var c = ByteCursor(buf)
        c.pos = used
        var out = ByteArrays()
        for l in lengths {
            guard l >= 0, l <= Int64(c.remaining) else { throw DecodeError("a byte-array length \(l) runs past the page") }
            out.append(try c.take(Int(l)))
        }
        return (out, c.pos)
    }

    static func deltaByteArray(_ buf: UnsafeRawBufferPointer, count n: Int) throws -> ByteArrays {
        let (prefixes, used) = try DeltaBinaryPacked.decode(buf, expected: n)
        let (suffixes, _) = try deltaLength(UnsafeRawBufferPointer(rebasing: buf[used...]), count: n)
        var out = ByteArrays()
        var previous: [UInt8] = []
        for i in 0..<n {
            let p = prefixes[i]
            guard p >= 0, p <= Int64(previous.count) else {
                throw DecodeError("DELTA_BYTE_ARRAY prefix \(p) is longer than the previous value (\(previous.count))")
            }
            var value = Array(previous.prefix(Int(p)))
            value.append(contentsOf: suffixes[i])
            out.append(contentsOf: value)
            previous = value
        }
        return out
    }

    static func byteStreamSplit(_ buf: UnsafeRawBufferPointer, count n: Int, column d: ParquetColumnDescriptor) throws -> PageValues {
        let width: Int
        switch d.physicalType {
        case .float, .int32: width = 4
        case .double, .int64: width = 8
        case .fixedLenByteArray: width = d.typeLength
        default: throw DecodeError("BYTE_STREAM_SPLIT for a \(d.physicalType) column")
        }
        guard n * width <= buf.count else { throw DecodeError("BYTE_STREAM_SPLIT needs \(n * width) bytes, the page has \(buf.count)") }
        var joined = [UInt8](repeating: 0, count: n * width)
        for i in 0..<n {
            for k in 0..<width { joined[i * width + k] = buf[k * n + i] }
        }
        return try joined.withUnsafeBytes { try plain($0, count: n, type: d.physicalType, length: d.typeLength) }
    }
}
