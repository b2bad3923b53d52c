/// How `HNSWIndex.save(to:layout:)` numbers the elements in the file. hnswlib rebuilds its label map
/// at load and answers queries by label, so the internal ids are the writer's to choose; the numbering
/// decides which records a search touches together, not what it finds.
public enum FileLayout: String, Sendable, CaseIterable {
    /// The internal ids in build order, as the index holds them in memory.
    case asBuilt = "build"
    /// Breadth-first from the entry point: the elements of layers ≥ 1 first (every query walks them),
    /// then level 0 in the order its lists reach elements from there, so the neighbours a search
    /// expands lie near each other in the file and in hnswlib's memory. See docs/decisions.md.
    case locality = "bfs"
}

extension HNSWIndex {
    /// The locality numbering as `order[newID] = oldID`. It depends only on the graph (the entry point
    /// and each list in its stored order), never on the old ids except for elements no list reaches,
    /// which keep their old relative order at the end; so numbering an index that is already in this
    /// order gives the identity, and load → save reproduces the file byte for byte.
    func localityOrder() -> [UInt32] {
        let n = count
        guard n > 0, let ep = entryPoint else { return [] }
        var placed = [Bool](repeating: false, count: n)
        var order = [UInt32]()
        order.reserveCapacity(n)
        placed[Int(ep)] = true
        order.append(ep)
        // Layers ≥ 1, breadth-first, each element's lists from its top layer down. Upper lists only
        // link elements that reach that layer, so this phase places upper-layer elements only.
        var head = 0
        while head < order.count {
            let x = order[head]
            head += 1
            var layer = level(x)
            while layer >= 1 {
                let list = links(x, layer)
                for j in 0..<linkCount(list) {
                    let y = Int(list[1 + j])
                    if !placed[y] {
                        placed[y] = true
                        order.append(UInt32(y))
                    }
                }
                layer -= 1
            }
        }
        for i in 0..<n where levels[i] > 0 && !placed[i] {
            placed[i] = true
            order.append(UInt32(i))
        }
        // Level 0, breadth-first, seeded with the upper-layer sequence.
        head = 0
        while head < order.count {
            let list = links(order[head], 0)
            head += 1
            for j in 0..<linkCount(list) {
                let y = Int(list[1 + j])
                if !placed[y] {
                    placed[y] = true
                    order.append(UInt32(y))
                }
            }
        }
        for i in 0..<n where !placed[i] { order.append(UInt32(i)) }
        return order
    }

    /// Rewrites the list at `list` (header word, then `capacity` slots) with ids mapped through
    /// `newID`; slots past the count become 0, the header word (count and delete mark) is kept.
    @inline(__always)
    static func renumber(_ list: UnsafeMutablePointer<UInt32>, capacity: Int, _ newID: UnsafePointer<UInt32>) {
        let c = linkCount(list)
        var j = 1
        while j <= c {
            list[j] = newID[Int(list[j])]
            j += 1
        }
        if c < capacity { (list + 1 + c).update(repeating: 0, count: capacity - c) }
    }

    /// Writes the level-0 block and the upper-layer block with element k of the file being element
    /// `order[k]` of the index, its links renumbered. Records are gathered in batches of about 1 MiB,
    /// so the copy costs no more memory than the two id maps.
    func writeRenumbered(_ w: FileIO.AtomicWriter, order: [UInt32], newID: [UInt32]) throws {
        let batch = max(1, min(count, (1 << 20) / stride))
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: batch * stride, alignment: 64)
        defer { buffer.deallocate() }
        let upperBuffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, maxLevel) * sizeLinksUpper, alignment: 8)
        defer { upperBuffer.deallocate() }
        try newID.withUnsafeBufferPointer { map in
            guard let ids = map.baseAddress else { return }
            var start = 0
            while start < count {
                let m = min(batch, count - start)
                for k in 0..<m {
                    let dst = buffer + k * stride
                    dst.copyMemory(from: record(order[start + k]), byteCount: stride)
                    Self.renumber(dst.assumingMemoryBound(to: UInt32.self), capacity: maxM0, ids)
                }
                try w.write(UnsafeRawPointer(buffer), count: m * stride)
                start += m
            }
            for old in order {
                let L = level(old)
                try w.write(UInt32(L * sizeLinksUpper))
                guard L > 0, let lists = upper[Int(old)] else { continue }
                upperBuffer.copyMemory(from: lists, byteCount: L * sizeLinksUpper)
                for layer in 0..<L {
                    Self.renumber((upperBuffer + layer * sizeLinksUpper).assumingMemoryBound(to: UInt32.self),
                                  capacity: maxM, ids)
                }
                try w.write(UnsafeRawPointer(upperBuffer), count: L * sizeLinksUpper)
            }
        }
    }
}
