/// Options for adding many elements.
public struct BuildOptions: Sendable {
    public var threads: Int
    /// Largest insertion batch. Part of the output's identity: the same batch size gives the same
    /// graph for any thread count.
    public var batchSize: Int
    /// Called on the calling thread after each batch with (elements inserted, elements to insert).
    public var progress: (@Sendable (Int, Int) -> Void)?
    /// Asked after each batch; true ends the build with `HNSWError.cancelled`
    /// and leaves the index unusable.
    public var shouldStop: (@Sendable () -> Bool)?

    public init(threads: Int = 1, batchSize: Int = 128,
                progress: (@Sendable (Int, Int) -> Void)? = nil, shouldStop: (@Sendable () -> Bool)? = nil) {
        self.threads = max(threads, 1)
        self.batchSize = max(batchSize, 1)
        self.progress = progress
        self.shouldStop = shouldStop
    }
}

extension HNSWIndex {
    /// Adds one element; an existing label is updated in place (hnswlib's addPoint semantics,
    /// which also clears a delete mark).
    public func add(_ vector: [Float], label: UInt64) throws {
        guard vector.count == dim else { throw HNSWError.dimensionMismatch(expected: dim, got: vector.count) }
        try vector.withUnsafeBufferPointer { try add(rows: $0, labels: [label]) }
    }

    /// Adds rows (row-major, `dim` floats each) with their labels. New labels are inserted as a batch
    /// build; labels already present are updated in place, in row order, after the new ones.
    public func add(rows: UnsafeBufferPointer<Float>, labels: [UInt64], options: BuildOptions = BuildOptions()) throws {
        let placed = try place(rows: rows, labels: labels)
        try link(placed, options: options)
        try applyUpdates(placed.updates, rows: rows, labels: labels)
    }

    /// Adds new labels whose rows `rows` delivers in label order, a block at a time: a caller
    /// that has the rows in a file lets go of its own copy, and the build holds the vectors once.
    /// Every label must be new. An error from `rows` leaves the index unusable.
    public func add(labels: [UInt64], reading rows: some RowSource, options: BuildOptions = BuildOptions()) throws {
        var seen = Set<UInt64>(minimumCapacity: labels.count)
        for l in labels {
            guard seen.insert(l).inserted else { throw HNSWError.duplicateLabel(l) }
            guard labelToID[l] == nil else {
                throw HNSWError.invalidParameter("label \(l) is already in the index; rows read in order add new labels only")
            }
        }
        let start = count
        try reserve(start + labels.count)
        labelToID.reserveCapacity(start + labels.count)
        try appendRecords(labels: labels, from: rows)
        try link(Placed(fresh: start..<count, updates: []), options: options)
    }

    /// Writes the records (vector, label, level) of `labels`, whose rows `rows` delivers in order,
    /// after the current elements, a block at a time; room is reserved by the caller. The count
    /// follows each record, so an error leaves none uncounted (the index is then unusable).
    func appendRecords(labels: [UInt64], from rows: some RowSource) throws {
        let block = 4096
        let buffer = UnsafeMutablePointer<Float>.allocate(capacity: block * dim)
        defer { buffer.deallocate() }
        var done = 0
        while done < labels.count {
            let c = min(block, labels.count - done)
            try rows.next(c, into: buffer)
            for j in 0..<c {
                let l = labels[done + j]
                let id = UInt32(count)
                writeRecord(id: id, vector: buffer + j * dim, label: l, level: Levels.level(label: l, seed: seed, mult: mult))
                count += 1
                guard labelToID.updateValue(id, forKey: l) == nil else { throw HNSWError.duplicateLabel(l) }
            }
            done += c
        }
    }

    /// New records written by `place`, still to be linked, and the rows that update existing labels.
    struct Placed {
        var fresh: Range<Int>
        var updates: [Int]
    }

    /// Checks the rows and labels, and writes the record (vector, label, level) of every new label.
    func place(rows: UnsafeBufferPointer<Float>, labels: [UInt64]) throws -> Placed {
        guard rows.count == labels.count * dim else {
            throw HNSWError.dimensionMismatch(expected: dim, got: labels.isEmpty ? rows.count : rows.count / labels.count)
        }
        guard let base = rows.baseAddress, !labels.isEmpty else { return Placed(fresh: count..<count, updates: []) }
        var seen = Set<UInt64>(minimumCapacity: labels.count)
        var fresh: [Int] = []
        var updates: [Int] = []
        fresh.reserveCapacity(labels.count)
        for (i, l) in labels.enumerated() {
            guard seen.insert(l).inserted else { throw HNSWError.duplicateLabel(l) }
            if labelToID[l] != nil { updates.append(i) } else { fresh.append(i) }
        }
        let start = count
        try reserve(start + fresh.count)
        labelToID.reserveCapacity(start + fresh.count)
        for (j, i) in fresh.enumerated() {
            let id = UInt32(start + j)
            let l = labels[i]
            writeRecord(id: id, vector: base + i * dim, label: l, level: Levels.level(label: l, seed: seed, mult: mult))
            labelToID[l] = id
        }
        count = start + fresh.count
        return Placed(fresh: start..<count, updates: updates)
    }

    /// Builds the graph over the records `place` wrote: deterministic batch insertion, the same graph
    /// for any thread count (docs/decisions.md).
    func link(_ placed: Placed, options: BuildOptions) throws {
        guard !placed.fresh.isEmpty else { return }
        let finished = insertBatches(placed.fresh, maxBatch: options.batchSize, threads: options.threads, progress: options.progress,
                                     shouldStop: options.shouldStop)
        guard finished else { throw HNSWError.cancelled }
    }

    /// Updates existing labels in place, in row order.
    func applyUpdates(_ updates: [Int], rows: UnsafeBufferPointer<Float>, labels: [UInt64]) throws {
        guard let base = rows.baseAddress else { return }
        for i in updates {
            try update(label: labels[i], vector: UnsafeBufferPointer(start: base + i * dim, count: dim))
        }
    }

    /// Computes the lists of new element `id` from the graph as it stands (entry `ep`, top layer
    /// `top`) and writes them; reverse links are the caller's (`applyReverseLinks`).
    /// `peers` are the other members of a deterministic batch: they are not in the graph yet, so
    /// they are offered as candidates by exact distance, which restores the links a sequential
    /// insertion would have made between them.
    /// `lowestLayer` 1 builds only the upper layers (the shard merge keeps level 0 from the shards).
    func connect(_ id: UInt32, entry ep: UInt32, top: Int, scratch s: SearchScratch,
                 peers: Range<Int> = 0..<0, lowestLayer: Int = 0) {
        let q = UnsafePointer(vector(id))
        let L = level(id)
        var cur = ep
        if L < top { cur = greedyDescent(q, from: ep, top: top, downTo: L, scratch: s) }
        var layer = min(L, top)
        while layer >= lowestLayer {
            searchLayer(q, entry: cur, layer: layer, ef: efConstruction, scratch: s)
            if peers.count > 1 { offerPeers(q, id, peers, layer: layer, scratch: s) }
            drainTop(s, excluding: id)
            selectNeighbors(s.pool, K: M, into: &s.selected)
            writeList(id, layer: layer, s.selected)
            // The next layer starts from the closest chosen element already in the graph: a batch
            // peer's lists are being written by another thread.
            if let first = s.selected.first(where: { !peers.contains(Int($0.id)) }) { cur = first.id }
            layer -= 1
        }
    }

    /// Adds the batch members on `layer` that beat the current beam to the search result heap.
    private func offerPeers(_ q: UnsafePointer<Float>, _ id: UInt32, _ peers: Range<Int>, layer: Int, scratch s: SearchScratch) {
        var top = s.top
        for p in peers where p != Int(id) && Int(levels[p]) >= layer {
            let d = distance(q, UInt32(p))
            if top.count < efConstruction || d < top.top.distance {
                top.push(d, UInt32(p))
                if top.count > efConstruction { top.pop() }
            }
        }
        s.top = top
    }

    /// Deterministic insertion of the prepared records `range` by batches with prefix doubling.
    /// Returns false when `shouldStop` ended it early.
    @discardableResult
    func insertBatches(_ range: Range<Int>, maxBatch: Int, threads: Int, progress: (@Sendable (Int, Int) -> Void)? = nil,
                       shouldStop: (@Sendable () -> Bool)? = nil, lowestLayer: Int = 0) -> Bool {
        var start = range.lowerBound
        let end = range.upperBound
        if entryPoint == nil, start < end {
            entryPoint = UInt32(start)
            maxLevel = level(UInt32(start))
            start += 1
        }
        let workers = max(threads, 1)
        let scratches = (0..<workers).map { _ in borrowScratch() }
        defer { scratches.forEach(returnScratch) }
        while start < end {
            var size = min(max(1, start), maxBatch, end - start)
            for i in start..<(start + size) where level(UInt32(i)) > maxLevel {
                size = i == start ? 1 : i - start
                break
            }
            let batch = start..<(start + size)
            guard let ep = entryPoint else { return true }
            let top = maxLevel
            Parallel.forEach(count: size, threads: workers, grain: 1) { r, w in
                for i in r {
                    connect(UInt32(batch.lowerBound + i), entry: ep, top: top, scratch: scratches[w], peers: batch,
                            lowestLayer: lowestLayer)
                }
            }
            applyReverseLinks(batch, threads: workers, scratches: scratches, lowestLayer: lowestLayer)
            if size == 1, level(UInt32(start)) > maxLevel {
                entryPoint = UInt32(start)
                maxLevel = level(UInt32(start))
            }
            start += size
            progress?(start - range.lowerBound, range.count)
            if let shouldStop, shouldStop() { return false }
        }
        return true
    }

    /// Offers each batch element to the lists of the neighbours it chose (older elements and batch
    /// peers). The pairs are collected before any list changes; targets are grouped and
    /// processed independently, each with its sources in id order, so the result is thread-independent.
    func applyReverseLinks(_ batch: Range<Int>, threads: Int, scratches: [SearchScratch], lowestLayer: Int = 0) {
        var topLayer = 0
        for i in batch { topLayer = max(topLayer, level(UInt32(i))) }
        guard topLayer >= lowestLayer else { return }
        for layer in lowestLayer...topLayer {
            var pairs: [UInt64] = []
            pairs.reserveCapacity(layer == 0 ? batch.count * M : batch.count)
            for i in batch where level(UInt32(i)) >= layer {
                let list = links(UInt32(i), layer)
                for j in 0..<linkCount(list) { pairs.append(UInt64(list[1 + j]) << 32 | UInt64(i)) }
            }
            applyOffers(&pairs, layer: layer, threads: threads, scratches: scratches)
        }
    }

    /// Applies (target << 32 | source) offers on `layer`: sorted, grouped by target, and each target
    /// processed independently with its sources in id order, so the result is thread-independent.
    func applyOffers(_ pairs: inout [UInt64], layer: Int, threads: Int, scratches: [SearchScratch]) {
        if pairs.isEmpty { return }
        pairs.sort()
        var runStarts: [Int] = [0]
        for j in 1..<pairs.count where pairs[j] >> 32 != pairs[j - 1] >> 32 { runStarts.append(j) }
        runStarts.append(pairs.count)
        pairs.withUnsafeBufferPointer { pp in
            let p = Parallel.Unchecked(pp)
            Parallel.forEach(count: runStarts.count - 1, threads: threads, grain: 8) { r, w in
                let s = scratches[w]
                var sources: [UInt32] = []
                for run in r {
                    let a = runStarts[run], b = runStarts[run + 1]
                    let target = UInt32(truncatingIfNeeded: p.value[a] >> 32)
                    sources.removeAll(keepingCapacity: true)
                    for j in a..<b { sources.append(UInt32(truncatingIfNeeded: p.value[j])) }
                    sources.withUnsafeBufferPointer { offerLinks(to: target, layer: layer, sources: $0, scratch: s) }
                }
            }
        }
    }
}
