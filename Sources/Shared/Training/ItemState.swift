import HNSW

/// Per-label state kept beside the index (`models/item_state.tsv`): the item id, a fingerprint of the
/// item's input values and whether the label is deleted. Incremental runs compare fingerprints to find
/// changed items (vectors of rows with a target were cross-fitted, so they cannot be recomputed).
public struct ItemState: Sendable, Equatable {
    public var ids: [String]
    public var fingerprints: [UInt64]
    public var deleted: [Bool]

    /// A 64-bit fingerprint of each row over `columns` (order-independent of the catalog's layout).
    public static func fingerprints(_ c: Catalog, columns: [String]) -> [UInt64] {
        var out = [UInt64](repeating: 0x243F_6A88_85A3_08D3, count: c.count)
        func mix(_ h: UInt64, _ x: UInt64) -> UInt64 { SplitMix64.mix(h ^ x) }
        for name in columns.sorted() {
            switch c.columns[name] {
            case .numeric(let v)?:
                for i in v.indices { out[i] = mix(out[i], v[i].isNaN ? 0x7FF8_0000_0000_0001 : v[i].bitPattern) }
            case .categorical(let codes, let values)?:
                let hashed = values.map { value -> UInt64 in
                    var h: UInt64 = 0xCBF2_9CE4_8422_2325
                    for b in value.description.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
                    return h
                }
                for i in codes.indices { out[i] = mix(out[i], codes[i] < 0 ? 0x5EED : hashed[Int(codes[i])]) }
            case nil:
                break
            }
        }
        return out
    }

    /// Writes item_state.tsv: label, id, fingerprint, deleted, one line per label.
    func write(to path: String) throws {
        try FileIO.writeLines(count: ids.count, to: path) { i in
            "\(i)\t\(VectorExporter.escape(ids[i]))\t\(hex16(fingerprints[i]))\t\(deleted[i] ? 1 : 0)\n"
        }
    }

    /// 16 hex digits, zero-padded, so every line has the same layout.
    func hex16(_ v: UInt64) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: 16 - h.count) + h
    }

    static func load(path: String) throws -> ItemState {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError("\(path): cannot read the saved item state; run a full training first")
        }
        var state = ItemState(ids: [], fingerprints: [], deleted: [])
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count == 4, Int(f[0]) == n, let fp = UInt64(f[2], radix: 16), f[3] == "0" || f[3] == "1" else {
                throw InputError("\(path):\(n + 1): not a label, id, fingerprint, deleted line")
            }
            state.ids.append(VectorExporter.unescape(String(f[1])))
            state.fingerprints.append(fp)
            state.deleted.append(f[3] == "1")
        }
        return state
    }
}
