/// The column's values read as the numbers and integers they stand for, with the logical type
/// applied: unsigned integers as unsigned, decimals scaled, half floats widened. `trainer parquet cat`
/// (through `ParquetJSON`) and the catalog read the same values.
extension ParquetColumnData {
    /// True when the logical type marks the integers as unsigned (UINT_8 … UINT_64).
    var isUnsigned: Bool {
        if case .integer(_, false)? = descriptor.logicalType { return true }
        return false
    }

    var decimalScale: Int? {
        if case .decimal(let scale, _)? = descriptor.logicalType { return scale }
        return nil
    }

    /// One number per row (NaN where missing), or nil when the column holds text or other binary.
    public func numbers() -> [Double]? {
        let n = count
        func each(_ get: (Int) -> Double) -> [Double] { (0..<n).map { isValid($0) ? get($0) : .nan } }
        // Decimals go through their exact decimal text, so the Double is correctly rounded.
        func scaled(_ unscaled: String, negative: Bool, _ scale: Int) -> Double {
            Double(ParquetJSON.decimal(unscaled, negative: negative, scale: scale)) ?? .nan
        }
        switch values {
        case .boolean(let v): return each { v[$0] ? 1 : 0 }
        case .int32(let v):
            if let scale = decimalScale, scale != 0 { return each { scaled(v[$0].magnitude.description, negative: v[$0] < 0, scale) } }
            if isUnsigned { return each { Double(UInt32(bitPattern: v[$0])) } }
            return each { Double(v[$0]) }
        case .int64(let v):
            if let scale = decimalScale, scale != 0 { return each { scaled(v[$0].magnitude.description, negative: v[$0] < 0, scale) } }
            if isUnsigned { return each { Double(UInt64(bitPattern: v[$0])) } }
            return each { Double(v[$0]) }
        case .float(let v): return each { Double(v[$0]) }
        case .double(let v): return each { v[$0] }
        case .bytes(let b):
            return binaryNumbers { b[$0] }
        case .dictionary(let codes, let values):
            return binaryNumbers { values[Int(codes[$0])] }
        }
    }

    private func binaryNumbers(_ bytes: (Int) -> ArraySlice<UInt8>) -> [Double]? {
        let n = count
        switch descriptor.logicalType {
        case .decimal(let scale, _)?:
            return (0..<n).map { isValid($0) ? Double(ParquetJSON.bigEndianDecimal(Array(bytes($0)), scale: scale)) ?? .nan : .nan }
        case .float16? where descriptor.physicalType == .fixedLenByteArray && descriptor.typeLength == 2:
            return (0..<n).map { i -> Double in
                guard isValid(i) else { return .nan }
                let b = bytes(i)
                return Double(ParquetJSON.halfToFloat(UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8))
            }
        default: return nil
        }
    }

    /// Row `i` as an item id: integers in their decimal form (unsigned ones as unsigned), dates,
    /// times and timestamps as `trainer parquet cat` prints them, text as text; nil for other kinds.
    public func idText(_ i: Int) -> String? {
        switch values {
        case .int32(let v): return ParquetJSON.temporal(Int64(v[i]), descriptor) ?? (isUnsigned ? String(UInt32(bitPattern: v[i])) : String(v[i]))
        case .int64(let v):
            if descriptor.physicalType == .int96 { return ParquetJSON.timestamp(v[i], unit: .nanos) }
            return ParquetJSON.temporal(v[i], descriptor) ?? (isUnsigned ? String(UInt64(bitPattern: v[i])) : String(v[i]))
        case .bytes(let b): return b.string(i)
        case .dictionary(let codes, let values): return values.string(Int(codes[i]))
        default: return nil
        }
    }
}
