import CCompression

/// Page decompression with Debian's codec libraries. The output must be exactly `size` bytes.
enum Compression {
    /// Largest page this reader will inflate; real writers use pages of a few MiB.
    static let maxPageBytes = 256 << 20

    static func decompress(_ codec: Codec, _ input: UnsafeRawBufferPointer, size: Int) throws -> [UInt8] {
        guard size >= 0, size <= maxPageBytes else {
            throw DecodeError("a page claims \(size) uncompressed bytes (limit \(maxPageBytes))")
        }
        if codec == .uncompressed {
            guard input.count == size else {
                throw DecodeError("an uncompressed page holds \(input.count) bytes but claims \(size)")
            }
            return [UInt8](input)
        }
        let src = input.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        // Refuse impossible sizes before allocating: a corrupt header must not cost memory.
        switch codec {
        case .snappy:
            var expected = 0
            guard snappy_uncompressed_length(src.assumingMemoryBound(to: CChar.self), input.count, &expected) == SNAPPY_OK,
                  expected == size else { throw DecodeError("a SNAPPY page does not hold the \(size) bytes it claims") }
        case .zstd:
            let known = ZSTD_getFrameContentSize(src, input.count)
            if known != ZSTD_CONTENTSIZE_UNKNOWN && known != ZSTD_CONTENTSIZE_ERROR && known != UInt64(size) && input.count > 0 {
                // A single frame that states its size must agree (several frames are summed by the library).
                if ZSTD_findFrameCompressedSize(src, input.count) == input.count {
                    throw DecodeError("a ZSTD page holds \(known) bytes but claims \(size)")
                }
            }
        case .gzip:
            guard size <= input.count * 1040 + 1024 else { throw DecodeError("a GZIP page of \(input.count) bytes cannot inflate to \(size)") }
        case .lz4Raw:
            guard size <= input.count * 256 + 1024 else { throw DecodeError("an LZ4_RAW page of \(input.count) bytes cannot inflate to \(size)") }
        default: break
        }
        var out = [UInt8](filling: size) { _ in }  // the codec writes every byte it reports below
        let produced: Int = try out.withUnsafeMutableBytes { dst in
            let d = dst.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 1)!
            switch codec {
            case .snappy:
                var n = size
                guard snappy_uncompress(src.assumingMemoryBound(to: CChar.self), input.count,
                                        d.assumingMemoryBound(to: CChar.self), &n) == SNAPPY_OK else {
                    throw DecodeError("a SNAPPY page does not decompress")
                }
                return n
            case .zstd:
                let n = ZSTD_decompress(d, size, src, input.count)
                if ZSTD_isError(n) != 0 {
                    throw DecodeError("a ZSTD page does not decompress: \(String(cString: ZSTD_getErrorName(n)))")
                }
                return n
            case .gzip:
                return try inflateAll(src, input.count, d, size)
            case .lz4Raw:
                guard input.count <= Int(Int32.max) else { throw DecodeError("an LZ4_RAW page is too large") }
                let n = LZ4_decompress_safe(src.assumingMemoryBound(to: CChar.self), d.assumingMemoryBound(to: CChar.self),
                                            Int32(input.count), Int32(size))
                guard n >= 0 else { throw DecodeError("an LZ4_RAW page does not decompress") }
                return Int(n)
            case .brotli:
                var n = size
                guard BrotliDecoderDecompress(input.count, src.assumingMemoryBound(to: UInt8.self), &n,
                                              d.assumingMemoryBound(to: UInt8.self)) == BROTLI_DECODER_RESULT_SUCCESS else {
                    throw DecodeError("a BROTLI page does not decompress")
                }
                return n
            case .lz4, .lzo, .uncompressed:
                throw DecodeError("codec \(codec) is not supported")
            }
        }
        guard produced == size else { throw DecodeError("a \(codec) page inflated to \(produced) bytes, not the \(size) it claims") }
        return out
    }

    /// Inflates one or more concatenated gzip (or zlib) members.
    private static func inflateAll(_ src: UnsafeRawPointer, _ count: Int, _ dst: UnsafeMutableRawPointer, _ size: Int) throws -> Int {
        var z = z_stream()
        guard inflateInit2_(&z, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DecodeError("zlib failed to start")
        }
        defer { inflateEnd(&z) }
        z.next_in = UnsafeMutablePointer(mutating: src.assumingMemoryBound(to: UInt8.self))
        z.avail_in = UInt32(clamping: count)
        z.next_out = dst.assumingMemoryBound(to: UInt8.self)
        z.avail_out = UInt32(clamping: size)
        while true {
            let rc = inflate(&z, Z_NO_FLUSH)
            if rc == Z_STREAM_END {
                if z.avail_in == 0 { break }
                guard inflateReset(&z) == Z_OK else { throw DecodeError("a GZIP page has a bad member") }
                continue
            }
            guard rc == Z_OK else { throw DecodeError("a GZIP page does not decompress (zlib \(rc))") }
            if z.avail_out == 0 && z.avail_in > 0 { throw DecodeError("a GZIP page inflates past its claimed size") }
            if z.avail_in == 0 { break }
        }
        return size - Int(z.avail_out)
    }
}
