/// The links of a shard index without its vectors: what a worker sends back to the coordinator,
/// which already holds the vectors. Layout (little-endian): magic "HSG1", count, max level, entry
/// point, maxM, maxM0 (u32 each); one level byte per element; then, per element and per layer
/// 0…level, a u16 count followed by that many u32 ids.
extension HNSWIndex {
    static let graphMagic: UInt32 = 0x3147_5348  // "HSG1"

    /// Encodes the links of every element (see the layout above).
    public func encodeGraph() -> [UInt8] {
        var out: [UInt8] = []
        var size = 24 + count
        for i in 0..<count {
            for layer in 0...level(UInt32(i)) { size += 2 + 4 * linkCount(links(UInt32(i), layer)) }
        }
        out.reserveCapacity(size)
        func put32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        put32(Self.graphMagic)
        put32(UInt32(count))
        put32(UInt32(bitPattern: Int32(maxLevel)))
        put32(entryPoint ?? UInt32.max)
        put32(UInt32(maxM))
        put32(UInt32(maxM0))
        for i in 0..<count { out.append(levels[i]) }
        for i in 0..<count {
            for layer in 0...level(UInt32(i)) {
                let list = links(UInt32(i), layer)
                let n = linkCount(list)
                withUnsafeBytes(of: UInt16(n).littleEndian) { out.append(contentsOf: $0) }
                for j in 0..<n { put32(list[1 + j]) }
            }
        }
        return out
    }

    /// Rebuilds a shard index from its rows, labels and an encoded graph from an untrusted peer.
    /// Every field is checked before use: the count against `labels`, each level against the level
    /// hash of its label, list lengths against the caps, every id, upper links to elements on that
    /// layer, the entry point at the top level, and the exact length.
    public static func assemble(space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64,
                                rows: UnsafeBufferPointer<Float>, labels: [UInt64], graph: UnsafeRawBufferPointer) throws -> HNSWIndex {
        let n = labels.count
        guard rows.count == n * dim, let base = rows.baseAddress else {
            throw HNSWError.dimensionMismatch(expected: dim, got: n == 0 ? rows.count : rows.count / max(n, 1))
        }
        let index = try HNSWIndex(space: space, dim: dim, M: M, efConstruction: efConstruction, capacity: n, seed: seed)
        var pos = 0
        func bad(_ m: String) -> HNSWError { .invalidGraph(m) }
        func u32() throws -> UInt32 {
            guard graph.count - pos >= 4 else { throw bad("it ends at byte \(pos), inside a 4-byte field") }
            defer { pos += 4 }
            return UInt32(littleEndian: graph.loadUnaligned(fromByteOffset: pos, as: UInt32.self))
        }
        guard try u32() == graphMagic else { throw bad("it does not start with the shard-graph magic") }
        guard Int(try u32()) == n else { throw bad("its element count does not match the shard's \(n) items") }
        let top = Int(Int32(bitPattern: try u32()))
        let entry = try u32()
        guard Int(try u32()) == index.maxM, Int(try u32()) == index.maxM0 else { throw bad("its link caps do not match M = \(M)") }
        guard graph.count - pos >= n else { throw bad("it ends inside the level table") }
        try index.reserve(n)
        var highest = -1
        for i in 0..<n {
            let L = Int(graph[pos + i])
            guard L == Levels.level(label: labels[i], seed: seed, mult: index.mult) else {
                throw bad("element \(i) (label \(labels[i])) has level \(L), not the level its label hashes to")
            }
            highest = max(highest, L)
            index.writeRecord(id: UInt32(i), vector: base + i * dim, label: labels[i], level: L)
            guard index.labelToID.updateValue(UInt32(i), forKey: labels[i]) == nil else { throw HNSWError.duplicateLabel(labels[i]) }
            index.count = i + 1
        }
        pos += n
        guard top == highest else { throw bad("its max level \(top) is not the highest element level \(highest)") }
        if n == 0 {
            // encodeGraph writes 0xFFFFFFFF for "no entry point"; anything else is not a graph it wrote.
            guard entry == UInt32.max else { throw bad("an empty graph has entry point \(entry), expected none (0xFFFFFFFF)") }
        } else {
            guard entry < UInt32(n), index.level(entry) == top else { throw bad("entry point \(entry) is not an element at the top level") }
            index.entryPoint = entry
            index.maxLevel = top
        }
        for i in 0..<n {
            for layer in 0...index.level(UInt32(i)) {
                guard graph.count - pos >= 2 else { throw bad("it ends inside the lists of element \(i)") }
                let c = Int(UInt16(littleEndian: graph.loadUnaligned(fromByteOffset: pos, as: UInt16.self)))
                pos += 2
                guard c <= index.cap(layer) else { throw bad("element \(i) has \(c) links on layer \(layer), above the cap \(index.cap(layer))") }
                guard graph.count - pos >= 4 * c else { throw bad("it ends inside the lists of element \(i)") }
                let list = index.links(UInt32(i), layer)
                for j in 0..<c {
                    let x = UInt32(littleEndian: graph.loadUnaligned(fromByteOffset: pos + 4 * j, as: UInt32.self))
                    guard x < UInt32(n), x != UInt32(i) else { throw bad("element \(i) links to id \(x) on layer \(layer)") }
                    guard index.level(x) >= layer else { throw bad("element \(i) links to \(x) on layer \(layer), above its level") }
                    list[1 + j] = x
                }
                list[0] = UInt32(c)
                pos += 4 * c
            }
        }
        guard pos == graph.count else { throw bad("\(graph.count - pos) unexpected bytes after the last list") }
        return index
    }
}
