/// Renders Parquet cells as JSON values: null for missing; numbers in shortest round-trip form;
/// NaN and ±Inf as "NaN", "Infinity", "-Infinity"; dates "YYYY-MM-DD"; timestamps ISO 8601 UTC at
/// the column's precision; decimals as strings; strings as strings; other binary as base64.
public enum ParquetJSON {
    public static func cell(_ c: ParquetColumnData, _ row: Int) -> String {
        guard c.isValid(row) else { return "null" }
        let d = c.descriptor
        switch c.values {
        case .boolean(let v): return v[row] ? "true" : "false"
        case .int32(let v): return integer(Int64(v[row]), d, unsignedBits: 32)
        case .int64(let v):
            if d.physicalType == .int96 { return quoted(timestamp(v[row], unit: .nanos)) }
            return integer(v[row], d, unsignedBits: 64)
        case .float(let v): return number(Double(v[row]), text: v[row].description)
        case .double(let v): return number(v[row], text: v[row].description)
        case .bytes(let b): return bytes(b[row], d)
        case .dictionary(let codes, let values): return bytes(values[Int(codes[row])], d)
        }
    }

    static func number(_ x: Double, text: String) -> String {
        if x.isNaN { return "\"NaN\"" }
        if x.isInfinite { return x > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        return text
    }

    static func integer(_ v: Int64, _ d: ParquetColumnDescriptor, unsignedBits: Int) -> String {
        switch d.logicalType {
        case .integer(_, false)?:
            return unsignedBits == 32 ? String(UInt32(truncatingIfNeeded: v)) : String(UInt64(bitPattern: v))
        case .date?, .timestamp?, .time?: return quoted(temporal(v, d) ?? String(v))
        case .decimal(let scale, _)?: return quoted(decimal(v.magnitude.description, negative: v < 0, scale: scale))
        default: return String(v)
        }
    }

    /// A date, time or timestamp integer as ISO 8601 text; nil for other logical types.
    static func temporal(_ v: Int64, _ d: ParquetColumnDescriptor) -> String? {
        switch d.logicalType {
        case .date?: return date(days: v)
        case .timestamp(_, let unit)?: return timestamp(v, unit: unit)
        case .time(_, let unit)?: return timeOfDay(v, unit: unit)
        default: return nil
        }
    }

    static func bytes(_ b: ArraySlice<UInt8>, _ d: ParquetColumnDescriptor) -> String {
        switch d.logicalType {
        case .string?, .enumeration?, .json?: return quoted(String(decoding: b, as: UTF8.self))
        case .decimal(let scale, _)?: return quoted(bigEndianDecimal(Array(b), scale: scale))
        case .float16? where b.count == 2:
            let bits = UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8
            let f = halfToFloat(bits)
            return number(Double(f), text: f.description)
        case .uuid? where b.count == 16:
            let hex = b.map { String($0, radix: 16).leftPadded(2) }.joined()
            let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { r in
                String(hex[hex.index(hex.startIndex, offsetBy: r.lowerBound)..<hex.index(hex.startIndex, offsetBy: r.upperBound)])
            }
            return quoted(parts.joined(separator: "-"))
        default: return quoted(base64(b))
        }
    }

    /// IEEE half precision to Float.
    static func halfToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exp = Int((h >> 10) & 0x1F)
        let frac = Float(h & 0x3FF)
        if exp == 0 { return sign * frac * 0x1p-24 }
        if exp == 31 { return frac == 0 ? sign * .infinity : .nan }
        return sign * (1 + frac / 1024) * Float(sign: .plus, exponent: exp - 15, significand: 1)
    }

    /// Civil date from days since 1970-01-01 (proleptic Gregorian).
    static func date(days: Int64) -> String {
        let (y, m, d) = civil(days)
        return "\(y < 0 ? "-" : "")\(String(abs(y)).leftPadded(4))-\(String(m).leftPadded(2))-\(String(d).leftPadded(2))"
    }

    static func civil(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func split(_ v: Int64, unit: TimeUnit) -> (seconds: Int64, fraction: String) {
        let per: Int64, digits: Int
        switch unit {
        case .millis: per = 1000; digits = 3
        case .micros: per = 1_000_000; digits = 6
        case .nanos: per = 1_000_000_000; digits = 9
        }
        var s = v / per
        var f = v % per
        if f < 0 {
            f += per
            s -= 1
        }
        return (s, String(f).leftPadded(digits))
    }

    static func timestamp(_ v: Int64, unit: TimeUnit) -> String {
        let (s, frac) = split(v, unit: unit)
        var days = s / 86_400
        var rem = s % 86_400
        if rem < 0 {
            rem += 86_400
            days -= 1
        }
        return "\(date(days: days))T\(clock(rem)).\(frac)Z"
    }

    static func timeOfDay(_ v: Int64, unit: TimeUnit) -> String {
        let (s, frac) = split(v, unit: unit)
        return "\(clock(s)).\(frac)"
    }

    static func clock(_ s: Int64) -> String {
        "\(String(s / 3600).leftPadded(2)):\(String((s / 60) % 60).leftPadded(2)):\(String(s % 60).leftPadded(2))"
    }

    /// A decimal string from magnitude digits and a scale.
    static func decimal(_ digits: String, negative: Bool, scale: Int) -> String {
        var body = digits
        if scale > 0 {
            if body.count <= scale { body = String(repeating: "0", count: scale - body.count + 1) + body }
            body.insert(".", at: body.index(body.endIndex, offsetBy: -scale))
        } else if scale < 0 {
            body += String(repeating: "0", count: -scale)
        }
        return (negative && digits.contains { $0 != "0" } ? "-" : "") + body
    }

    /// Big-endian two's complement of any length to a decimal string.
    static func bigEndianDecimal(_ bytes: [UInt8], scale: Int) -> String {
        guard let first = bytes.first else { return "0" }
        let negative = first & 0x80 != 0
        var mag = bytes
        if negative {
            for i in mag.indices { mag[i] = ~mag[i] }
            var i = mag.count - 1
            while i >= 0 {
                let (v, o) = mag[i].addingReportingOverflow(1)
                mag[i] = v
                if !o { break }
                i -= 1
            }
        }
        var digits: [UInt8] = []
        while mag.contains(where: { $0 != 0 }) {
            var rem: UInt32 = 0
            for i in mag.indices {
                let cur = rem << 8 | UInt32(mag[i])
                mag[i] = UInt8(cur / 10)
                rem = cur % 10
            }
            digits.append(UInt8(rem) + 48)
        }
        let text = digits.isEmpty ? "0" : String(decoding: digits.reversed(), as: UTF8.self)
        return decimal(text, negative: negative, scale: scale)
    }

    /// A JSON string literal.
    public static func quoted(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    out += "\\u" + String(u.value, radix: 16).leftPadded(4)
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    static func base64<C: Collection>(_ data: C) -> String where C.Element == UInt8 {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let bytes = Array(data)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let n = b0 << 16 | b1 << 8 | b2
            out.append(table[Int(n >> 18 & 63)])
            out.append(table[Int(n >> 12 & 63)])
            out.append(i + 1 < bytes.count ? table[Int(n >> 6 & 63)] : 61)
            out.append(i + 2 < bytes.count ? table[Int(n & 63)] : 61)
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
