import HNSW

/// One shard as shipped to a refinement job: its global row ids, labels, rows and encoded graph.
/// With `cached`, only the ids travel: the worker already holds that shard from this session.
public struct ShippedShard: Sendable, Equatable {
    public var shard: UInt32
    public var cached: Bool
    public var members: [UInt32]
    public var labels: [UInt64]
    public var vectors: [Float]
    public var graph: [UInt8]

    public init(shard: UInt32, cached: Bool = false, members: [UInt32], labels: [UInt64], vectors: [Float], graph: [UInt8]) {
        self.shard = shard
        self.cached = cached
        self.members = members
        self.labels = labels
        self.vectors = vectors
        self.graph = graph
    }
}

/// Phase 2 job: refine the boundary elements of `shards[0]` against the other shipped shards.
public struct RefineSpec: Sendable, Equatable {
    public var shard: UInt32
    public var attempt: UInt32
    public var space: Space
    public var dim: Int
    public var M: Int
    public var efConstruction: Int
    public var seed: UInt64
    public var crossK: Int
    public var crossEf: Int
    /// The shard being refined first, then the shards its boundary elements border.
    public var shards: [ShippedShard]
    /// (local id in the first shard, shards to search), ascending by local id.
    public var boundary: [(UInt32, [UInt32])]

    public init(shard: UInt32, attempt: UInt32, space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64, crossK: Int,
                crossEf: Int, shards: [ShippedShard], boundary: [(UInt32, [UInt32])]) {
        self.shard = shard
        self.attempt = attempt
        self.space = space
        self.dim = dim
        self.M = M
        self.efConstruction = efConstruction
        self.seed = seed
        self.crossK = crossK
        self.crossEf = crossEf
        self.shards = shards
        self.boundary = boundary
    }

    public static func == (a: RefineSpec, b: RefineSpec) -> Bool {
        a.shard == b.shard && a.attempt == b.attempt && a.space == b.space && a.dim == b.dim && a.M == b.M
            && a.efConstruction == b.efConstruction && a.seed == b.seed && a.crossK == b.crossK && a.crossEf == b.crossEf
            && a.shards == b.shards && a.boundary.count == b.boundary.count
            && zip(a.boundary, b.boundary).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// A worker's answer to a refinement job.
public struct RefineResult: Sendable, Equatable {
    public var shard: UInt32
    public var attempt: UInt32
    public var micros: UInt64
    public var output: RefineOutput

    public init(shard: UInt32, attempt: UInt32, micros: UInt64, output: RefineOutput) {
        self.shard = shard
        self.attempt = attempt
        self.micros = micros
        self.output = output
    }
}

/// One part of a shipped shard's content in a REFINE message.
public enum ShippedPart: Sendable {
    case labels, vectors, graph
}

extension WireMessage {
    /// The size of the framed REFINE message of `spec`, whose shipped shards' content sizes
    /// `size(shard index, part)` gives in bytes (their arrays in `spec` may be empty).
    public static func refineCount(_ spec: RefineSpec, size: (Int, ShippedPart) -> Int) -> Int {
        var w = WireWriter.counter()
        w.refine(spec, size: size) { _, _, _ in }
        return headerSize + w.count
    }

    /// Writes the REFINE message of `spec` into `buffer` (`refineCount` bytes), calling `fill` to
    /// write each shipped shard's labels, rows and graph straight into their place. The coordinator
    /// ships shards read from its work folder this way, holding each once: the same bytes as
    /// `WireMessage.refine(spec).encoded()` with the content in the arrays.
    public static func encodeRefine(_ spec: RefineSpec, size: (Int, ShippedPart) -> Int, into buffer: UnsafeMutableRawBufferPointer,
                                    fill: (Int, ShippedPart, UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let body = UnsafeMutableRawBufferPointer(rebasing: buffer[headerSize...])
        var w = WireWriter(into: body)
        try w.refine(spec, size: size, fill: fill)
        frame(type: WireMessage.refine(spec).type, payload: UnsafeRawBufferPointer(body), into: buffer)
    }
}

extension WireWriter {
    mutating func refineSpec(_ j: RefineSpec) {
        refine(j, size: { i, part in
            let s = j.shards[i]
            return switch part {
            case .labels: s.labels.count * 8
            case .vectors: s.vectors.count * 4
            case .graph: s.graph.count
            }
        }, fill: { i, part, dst in
            let s = j.shards[i]
            switch part {
            case .labels: s.labels.withUnsafeBytes { dst.copyMemory(from: $0) }
            case .vectors: s.vectors.withUnsafeBytes { dst.copyMemory(from: $0) }
            case .graph: s.graph.withUnsafeBytes { dst.copyMemory(from: $0) }
            }
        })
    }

    /// The REFINE payload; each shipped shard's content is `size(i, part)` bytes written by `fill`.
    mutating func refine(_ j: RefineSpec, size: (Int, ShippedPart) -> Int,
                         fill: (Int, ShippedPart, UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        u32(j.shard); u32(j.attempt)
        buildParameters(space: j.space, dim: j.dim, M: j.M, efConstruction: j.efConstruction, seed: j.seed)
        u32(UInt32(j.crossK)); u32(UInt32(j.crossEf))
        u32(UInt32(j.shards.count))
        for (i, s) in j.shards.enumerated() {
            u32(s.shard)
            u8(s.cached ? 1 : 0)
            u32(UInt32(s.members.count))
            s.members.withUnsafeBytes { raw($0) }
            if s.cached { continue }
            try region(size(i, .labels)) { try fill(i, .labels, $0) }
            try region(size(i, .vectors)) { try fill(i, .vectors, $0) }
            let g = size(i, .graph)
            u32(UInt32(g))
            try region(g) { try fill(i, .graph, $0) }
        }
        u32(UInt32(j.boundary.count))
        for (u, shards) in j.boundary {
            u32(u)
            u8(UInt8(shards.count))
            for t in shards { u32(t) }
        }
    }

    mutating func refineResult(_ r: RefineResult) {
        u32(r.shard); u32(r.attempt); u64(r.micros)
        u32(UInt32(r.output.lists.count))
        for l in r.output.lists {
            u32(l.id)
            u16(UInt16(l.links.count))
            l.links.withUnsafeBytes { raw($0) }
        }
        u32(UInt32(r.output.offers.count))
        r.output.offers.withUnsafeBytes { raw($0) }
    }
}

extension WireReader {
    mutating func refineSpec() throws -> RefineSpec {
        let shard = try u32(), attempt = try u32()
        let (space, dim, M, efc, seed) = try buildParameters()
        let crossK = Int(try u32()), crossEf = Int(try u32())
        try within(crossK, RefineLimits.k, "refine k")
        try within(crossEf, RefineLimits.ef, "refine ef")
        let m = Int(try u32())
        guard ShardLimits.count.contains(m), m * 8 <= remaining else { throw bad("\(m) shards cannot fit in \(remaining) bytes") }
        var shards: [ShippedShard] = []
        for _ in 0..<m {
            let id = try u32()
            let flag = try u8()
            guard flag <= 1 else { throw bad("shard \(id) has cache flag \(flag)") }
            let n = Int(try u32())
            if flag == 1 {
                guard n * 4 <= remaining else { throw bad("shard \(id) claims \(n) members, more than the message holds") }
                shards.append(ShippedShard(shard: id, cached: true, members: try array(n), labels: [], vectors: [], graph: []))
                continue
            }
            let (perItem, o1) = dim.multipliedReportingOverflow(by: 4)
            let (each, o2) = perItem.addingReportingOverflow(12)
            let (total, o3) = each.multipliedReportingOverflow(by: n)
            guard !o1, !o2, !o3, total <= remaining else { throw bad("shard \(id) claims \(n) items, more than the message holds") }
            let members: [UInt32] = try array(n)
            let labels: [UInt64] = try array(n)
            let vectors: [Float] = try array(n * dim)
            let g = Int(try u32())
            shards.append(ShippedShard(shard: id, members: members, labels: labels, vectors: vectors, graph: try bytes(g)))
        }
        let b = Int(try u32())
        guard b * 5 <= remaining else { throw bad("\(b) boundary elements cannot fit in \(remaining) bytes") }
        var boundary: [(UInt32, [UInt32])] = []
        boundary.reserveCapacity(b)
        for _ in 0..<b {
            let u = try u32()
            let k = Int(try u8())
            try within(k, RefineLimits.maxShards, "shards per boundary element")
            let ts: [UInt32] = try array(k)
            boundary.append((u, ts))
        }
        return RefineSpec(shard: shard, attempt: attempt, space: space, dim: dim, M: M, efConstruction: efc, seed: seed,
                          crossK: crossK, crossEf: crossEf, shards: shards, boundary: boundary)
    }

    mutating func refineResult() throws -> RefineResult {
        let shard = try u32(), attempt = try u32(), micros = try u64()
        let n = Int(try u32())
        guard n * 6 <= remaining else { throw bad("\(n) lists cannot fit in \(remaining) bytes") }
        var lists: [RefinedList] = []
        lists.reserveCapacity(n)
        for _ in 0..<n {
            let id = try u32()
            let c = Int(try u16())
            lists.append(RefinedList(id: id, links: try array(c)))
        }
        let o = Int(try u32())
        let offers: [UInt64] = try array(o)
        return RefineResult(shard: shard, attempt: attempt, micros: micros, output: RefineOutput(lists: lists, offers: offers))
    }
}
