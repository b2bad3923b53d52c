/// The 96-byte header of an hnswlib v0.8.0 index file.
public struct HNSWFileHeader: Equatable, Sendable {
    public var offsetLevel0: UInt64
    public var maxElements: UInt64
    public var elementCount: UInt64
    public var sizeDataPerElement: UInt64
    public var labelOffset: UInt64
    public var offsetData: UInt64
    public var maxLevel: Int32
    public var entryPoint: UInt32
    public var maxM: UInt64
    public var maxM0: UInt64
    public var M: UInt64
    public var mult: Double
    public var efConstruction: UInt64

    public static let size = 96

    /// The vector dimension the layout implies, when it is consistent.
    public var impliedDimension: Int? {
        guard labelOffset >= offsetData, (labelOffset - offsetData) % 4 == 0 else { return nil }
        return Int(exactly: (labelOffset - offsetData) / 4)
    }
}

extension HNSWIndex {
    var header: HNSWFileHeader {
        HNSWFileHeader(offsetLevel0: 0, maxElements: UInt64(capacity), elementCount: UInt64(count),
                       sizeDataPerElement: UInt64(stride), labelOffset: UInt64(labelOffset),
                       offsetData: UInt64(sizeLinks0), maxLevel: Int32(maxLevel),
                       entryPoint: entryPoint ?? UInt32.max, maxM: UInt64(maxM), maxM0: UInt64(maxM0),
                       M: UInt64(M), mult: mult, efConstruction: UInt64(efConstruction))
    }

    /// Saves in hnswlib v0.8.0's format, atomically: a temporary file in the same folder, synced,
    /// then renamed. On failure the previous file at `path` is untouched.
    /// - Parameter layout: how the file numbers the elements; the index in memory keeps its own order.
    public func save(to path: String, layout: FileLayout = .locality) throws {
        let w = try FileIO.AtomicWriter(path: path)
        var h = header
        var order: [UInt32] = []
        var newID: [UInt32] = []
        if layout == .locality, let ep = entryPoint {
            order = localityOrder()
            newID = [UInt32](repeating: 0, count: count)
            for (k, old) in order.enumerated() { newID[Int(old)] = UInt32(k) }
            h.entryPoint = newID[Int(ep)]
        }
        try w.write(h.offsetLevel0)
        try w.write(h.maxElements)
        try w.write(h.elementCount)
        try w.write(h.sizeDataPerElement)
        try w.write(h.labelOffset)
        try w.write(h.offsetData)
        try w.write(UInt32(bitPattern: h.maxLevel))
        try w.write(h.entryPoint)
        try w.write(h.maxM)
        try w.write(h.maxM0)
        try w.write(h.M)
        try w.write(h.mult.bitPattern)
        try w.write(h.efConstruction)
        if !order.isEmpty {
            try writeRenumbered(w, order: order, newID: newID)
            try w.commit()
            return
        }
        try w.write(UnsafeRawPointer(level0), count: count * stride)
        for i in 0..<count {
            let L = Int(levels[i])
            try w.write(UInt32(L * sizeLinksUpper))
            if L > 0, let lists = upper[i] { try w.write(UnsafeRawPointer(lists), count: L * sizeLinksUpper) }
        }
        try w.commit()
    }

    /// Reads only the header of an index file.
    public static func readHeader(path: String) throws -> HNSWFileHeader {
        let r = try FileIO.Reader(path: path)
        return try readHeader(r)
    }

    static func readHeader(_ r: FileIO.Reader) throws -> HNSWFileHeader {
        guard r.size >= HNSWFileHeader.size else {
            throw HNSWError.corruptFile(path: r.path, message: "the file is \(r.size) bytes, shorter than the 96-byte header")
        }
        return HNSWFileHeader(
            offsetLevel0: try r.read(UInt64.self), maxElements: try r.read(UInt64.self),
            elementCount: try r.read(UInt64.self), sizeDataPerElement: try r.read(UInt64.self),
            labelOffset: try r.read(UInt64.self), offsetData: try r.read(UInt64.self),
            maxLevel: Int32(bitPattern: try r.read(UInt32.self)), entryPoint: try r.read(UInt32.self),
            maxM: try r.read(UInt64.self), maxM0: try r.read(UInt64.self), M: try r.read(UInt64.self),
            mult: Double(bitPattern: try r.read(UInt64.self)), efConstruction: try r.read(UInt64.self))
    }

    /// Loads an hnswlib v0.8.0 file. Like hnswlib, the caller names the space and dimension; unlike
    /// hnswlib, everything it trusts is checked: the size walk, stride against `dim`, counts against
    /// the caps, every link id, upper-layer links to elements that exist on that layer, the entry
    /// point at the top level, and unique labels. A bad file is refused with `HNSWError.corruptFile`.
    /// - Parameter capacity: at least this capacity (hnswlib's `max_elements` argument).
    public static func load(path: String, space: Space, dim: Int, capacity: Int = 0, seed: UInt64 = 100) throws -> HNSWIndex {
        guard dim >= 1 else { throw HNSWError.invalidParameter("dim must be ≥ 1, got \(dim)") }
        let r = try FileIO.Reader(path: path)
        let h = try readHeader(r)
        func bad(_ m: String) -> HNSWError { .corruptFile(path: path, message: m) }
        guard h.offsetLevel0 == 0 else { throw bad("offsetLevel0 is \(h.offsetLevel0), expected 0") }
        guard h.maxM0 >= 1, h.maxM0 <= 0xFFFF, h.maxM >= 1, h.maxM <= 0xFFFF, h.M >= 1, h.M <= 0xFFFF else {
            throw bad("link capacities out of range (M \(h.M), maxM \(h.maxM), maxM0 \(h.maxM0); each must be 1…65535)")
        }
        guard h.offsetData == h.maxM0 * 4 + 4 else {
            throw bad("offsetData is \(h.offsetData) but maxM0 \(h.maxM0) implies \(h.maxM0 * 4 + 4)")
        }
        guard let fileDim = h.impliedDimension, fileDim >= 1 else {
            throw bad("label_offset \(h.labelOffset) and offsetData \(h.offsetData) do not describe a float32 vector")
        }
        guard fileDim == dim else {
            throw HNSWError.corruptFile(path: path, message: "its vectors have dimension \(fileDim), but dimension \(dim) was given")
        }
        guard h.sizeDataPerElement == h.labelOffset + 8 else {
            throw bad("size_data_per_element is \(h.sizeDataPerElement), expected label_offset + 8 = \(h.labelOffset + 8)")
        }
        guard h.elementCount < UInt64(UInt32.max), h.maxElements < UInt64(UInt32.max) else {
            throw bad("element count \(h.elementCount) or max_elements \(h.maxElements) exceeds 2^32 − 1")
        }
        guard h.elementCount <= h.maxElements else {
            throw bad("element count \(h.elementCount) exceeds max_elements \(h.maxElements)")
        }
        guard h.mult.isFinite, h.mult > 0 else { throw bad("mult is \(h.mult), expected a positive number") }
        guard h.efConstruction >= 1, h.efConstruction <= 1 << 31 else { throw bad("ef_construction is \(h.efConstruction)") }
        let n = Int(h.elementCount)
        let stride = Int(h.sizeDataPerElement)
        let (blockBytes, o1) = n.multipliedReportingOverflow(by: stride + 4)
        guard !o1, blockBytes <= r.size - HNSWFileHeader.size else {
            throw bad("the file is \(r.size) bytes, too short for \(n) elements of \(stride) bytes")
        }
        if n == 0 {
            guard h.maxLevel == -1, h.entryPoint == UInt32.max else {
                throw bad("an empty index must have maxlevel −1 and no entry point (has \(h.maxLevel), \(h.entryPoint))")
            }
        } else {
            guard h.maxLevel >= 0, h.maxLevel <= 255 else { throw bad("maxlevel \(h.maxLevel) is out of range 0…255") }
            guard h.entryPoint < UInt32(n) else { throw bad("entry point \(h.entryPoint) is not below the element count \(n)") }
        }
        let index = try HNSWIndex(space: space, dim: dim, maxM: Int(h.maxM), maxM0: Int(h.maxM0), M: Int(h.M),
                                  efConstruction: Int(h.efConstruction), mult: h.mult,
                                  capacity: max(Int(h.maxElements), capacity), seed: seed, reserve: n)
        try r.read(into: index.level0, count: n * stride)
        index.count = 0
        let linkBytes = index.sizeLinksUpper
        for i in 0..<n {
            guard r.remaining >= 4 else { throw bad("the file ends before the upper-layer size of element \(i)") }
            let size = Int(try r.read(UInt32.self))
            guard size % linkBytes == 0 else {
                throw bad("element \(i) has an upper-layer block of \(size) bytes, not a multiple of \(linkBytes)")
            }
            let L = size / linkBytes
            guard L <= Int(h.maxLevel) else { throw bad("element \(i) has level \(L), above maxlevel \(h.maxLevel)") }
            guard r.remaining >= size else { throw bad("the file ends inside the upper-layer links of element \(i)") }
            index.levels[i] = UInt8(L)
            if L > 0 {
                let lists = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
                index.upper[i] = lists
                index.count = i + 1
                try r.read(into: lists, count: size)
            } else {
                index.upper[i] = nil
            }
            index.count = i + 1
        }
        guard r.remaining == 0 else { throw bad("\(r.remaining) unexpected bytes after the last element") }
        try index.validateGraph(path: path, header: h)
        return index
    }

    /// Checks links, caps, levels, the entry point and labels of a freshly read graph.
    private func validateGraph(path: String, header h: HNSWFileHeader) throws {
        func bad(_ m: String) -> HNSWError { .corruptFile(path: path, message: m) }
        let n = count
        var top = -1
        var deleted = 0
        labelToID.reserveCapacity(n)
        for i in 0..<n {
            let id = UInt32(i)
            let head = links(id, 0)[0]
            guard head >> 17 == 0 else { throw bad("element \(i) has unknown flag bits 0x\(String(head >> 16, radix: 16)) in its list header") }
            if head >> 16 & 1 != 0 { deleted += 1 }
            let L = level(id)
            top = max(top, L)
            for layer in 0...L {
                let list = links(id, layer)
                let c = linkCount(list)
                if layer > 0, list[0] >> 16 != 0 { throw bad("element \(i) has flag bits in its layer-\(layer) list header") }
                guard c <= cap(layer) else {
                    throw bad("element \(i) has \(c) links on layer \(layer), above the cap of \(cap(layer))")
                }
                for j in 0..<c {
                    let x = list[1 + j]
                    guard x < UInt32(n) else { throw bad("element \(i) links to id \(x) on layer \(layer), but there are \(n) elements") }
                    guard layer == 0 || level(x) >= layer else {
                        throw bad("element \(i) links to element \(x) on layer \(layer), which only reaches layer \(level(x))")
                    }
                }
            }
            let l = label(ofInternal: id)
            if let prior = labelToID.updateValue(id, forKey: l) {
                throw bad("label \(l) appears twice (elements \(prior) and \(i))")
            }
        }
        if n > 0 {
            guard top == Int(h.maxLevel) else { throw bad("maxlevel is \(h.maxLevel) but the highest element level is \(top)") }
            guard level(h.entryPoint) == top else {
                throw bad("entry point \(h.entryPoint) has level \(level(h.entryPoint)), not the max level \(top)")
            }
            entryPoint = h.entryPoint
            maxLevel = top
        }
        deletedCount = deleted
    }
}
