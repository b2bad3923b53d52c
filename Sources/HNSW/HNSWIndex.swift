import CKernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An HNSW index whose memory layout is hnswlib v0.8.0's: level-0 records of
/// [u32 header | maxM0 u32 links | dim float32 | u64 label] and, per element above level 0,
/// `level` upper lists of [u32 header | maxM u32 links]. Saving copies records, renumbered for locality
/// unless the build order is asked for (`FileLayout`).
///
/// Not safe for concurrent mutation from several callers; its own parallel phases are internal.
public final class HNSWIndex: @unchecked Sendable {
    public let space: Space
    public let dim: Int
    public let M: Int
    public let maxM: Int
    public let maxM0: Int
    public let efConstruction: Int
    public let mult: Double
    /// Seed of the level hash for labels added to this index.
    public let seed: UInt64
    /// Default search beam width (hnswlib's default is 10).
    public var ef: Int = 10

    /// Logical capacity (hnswlib's max_elements).
    public private(set) var capacity: Int
    /// Number of elements, deleted ones included.
    public internal(set) var count: Int = 0
    public internal(set) var deletedCount: Int = 0
    /// Internal id of the entry point, or nil when the index is empty.
    public internal(set) var entryPoint: UInt32?
    /// The top layer; −1 when empty.
    public internal(set) var maxLevel: Int = -1

    let sizeLinks0: Int
    let sizeLinksUpper: Int
    let labelOffset: Int
    let stride: Int
    let kind: Int32

    /// Physically allocated records (grows geometrically up to `capacity`).
    var allocated: Int
    var level0: UnsafeMutableRawPointer
    var upper: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    var levels: UnsafeMutablePointer<UInt8>
    var labelToID: [UInt64: UInt32] = [:]

    private let scratchPool = Locked<[SearchScratch]>([])

    /// Creates an empty index.
    /// - Parameters:
    ///   - M: links per node on layers ≥ 1 (2·M on layer 0); 2…10000.
    ///   - efConstruction: beam width while building; raised to M when smaller, as hnswlib does.
    ///   - capacity: the most elements the index holds before `resize`.
    public convenience init(space: Space, dim: Int, M: Int = 16, efConstruction: Int = 200, capacity: Int, seed: UInt64 = 100) throws {
        try ParameterLimits.check(dim, ParameterLimits.dimension, name: "dim")
        try ParameterLimits.check(M, ParameterLimits.M, name: "M")
        try ParameterLimits.check(efConstruction, ParameterLimits.efConstruction, name: "ef_construction")
        guard capacity >= 0 && capacity < Int(UInt32.max) else {
            throw HNSWError.invalidParameter("capacity must be in 0…\(UInt32.max - 1), got \(capacity)")
        }
        let m = 1 / log(Double(M))
        try self.init(space: space, dim: dim, maxM: M, maxM0: 2 * M, M: M, efConstruction: max(efConstruction, M),
                      mult: m, capacity: capacity, seed: seed)
    }

    /// The designated initialiser, also used by the loader with a file's raw parameters.
    init(space: Space, dim: Int, maxM: Int, maxM0: Int, M: Int, efConstruction: Int, mult: Double, capacity: Int,
         seed: UInt64, reserve: Int? = nil) throws {
        self.space = space
        self.dim = dim
        self.maxM = maxM
        self.maxM0 = maxM0
        self.M = M
        self.efConstruction = efConstruction
        self.mult = mult
        self.seed = seed
        self.capacity = capacity
        self.kind = space.kernelKind
        sizeLinks0 = maxM0 * 4 + 4
        sizeLinksUpper = maxM * 4 + 4
        labelOffset = sizeLinks0 + dim * 4
        stride = labelOffset + 8
        allocated = max(min(reserve ?? capacity, capacity), 1)
        level0 = .allocate(byteCount: allocated * stride, alignment: 64)
        upper = .allocate(capacity: allocated)
        levels = .allocate(capacity: allocated)
    }

    deinit {
        for i in 0..<count { upper[i]?.deallocate() }
        level0.deallocate()
        upper.deallocate()
        levels.deallocate()
    }

    // MARK: record access

    @inline(__always) func record(_ id: UInt32) -> UnsafeMutableRawPointer { level0 + Int(id) * stride }

    /// The list of `id` at `layer`: element 0 is the header (count in the low 16 bits), then the links.
    @inline(__always) func links(_ id: UInt32, _ layer: Int) -> UnsafeMutablePointer<UInt32> {
        if layer == 0 { return record(id).assumingMemoryBound(to: UInt32.self) }
        return (upper[Int(id)].unsafelyUnwrapped + (layer - 1) * sizeLinksUpper).assumingMemoryBound(to: UInt32.self)
    }

    @inline(__always) func vector(_ id: UInt32) -> UnsafeMutablePointer<Float> {
        (record(id) + sizeLinks0).assumingMemoryBound(to: Float.self)
    }

    @inline(__always) func label(ofInternal id: UInt32) -> UInt64 {
        record(id).loadUnaligned(fromByteOffset: labelOffset, as: UInt64.self)
    }

    @inline(__always) func isDeleted(_ id: UInt32) -> Bool {
        (record(id).load(as: UInt32.self) >> 16) & 1 != 0
    }

    @inline(__always) func level(_ id: UInt32) -> Int { Int(levels[Int(id)]) }

    @inline(__always) var vectorBase: UnsafeRawPointer { UnsafeRawPointer(level0 + sizeLinks0) }

    @inline(__always) func distance(_ q: UnsafePointer<Float>, _ id: UInt32) -> Float {
        kind == HK_L2 ? hk_l2sq(q, vector(id), dim) : 1 - hk_dot(q, vector(id), dim)
    }

    @inline(__always) func distance(_ a: UInt32, _ b: UInt32) -> Float { distance(vector(a), b) }

    @inline(__always) func cap(_ layer: Int) -> Int { layer == 0 ? maxM0 : maxM }

    // MARK: public facts

    /// True when `label` is in the index (deleted or not).
    public func contains(_ label: UInt64) -> Bool { labelToID[label] != nil }

    /// True when `label` is marked deleted.
    public func isMarkedDeleted(_ label: UInt64) throws -> Bool {
        guard let id = labelToID[label] else { throw HNSWError.labelNotFound(label) }
        return isDeleted(id)
    }

    /// The stored vector of `label` (normalised for the cosine space).
    public func vector(of label: UInt64) throws -> [Float] {
        guard let id = labelToID[label] else { throw HNSWError.labelNotFound(label) }
        return Array(UnsafeBufferPointer(start: vector(id), count: dim))
    }

    /// Labels in internal-id order.
    public var labels: [UInt64] { (0..<count).map { label(ofInternal: UInt32($0)) } }

    /// The level of every element, in internal-id order.
    public var elementLevels: [Int] { (0..<count).map { Int(levels[$0]) } }

    // MARK: memory

    /// Makes room for `needed` records without changing the logical capacity.
    func reserve(_ needed: Int) throws {
        if needed > capacity { throw HNSWError.capacityExceeded(capacity: capacity, needed: needed) }
        if needed <= allocated { return }
        reallocate(to: min(capacity, max(needed, allocated * 2)))
    }

    /// Moves the records, upper lists and levels into buffers of `target` elements.
    private func reallocate(to target: Int) {
        let newLevel0 = UnsafeMutableRawPointer.allocate(byteCount: target * stride, alignment: 64)
        newLevel0.copyMemory(from: level0, byteCount: count * stride)
        level0.deallocate()
        level0 = newLevel0
        let newUpper = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: target)
        newUpper.moveInitialize(from: upper, count: count)
        upper.deallocate()
        upper = newUpper
        let newLevels = UnsafeMutablePointer<UInt8>.allocate(capacity: target)
        newLevels.moveInitialize(from: levels, count: count)
        levels.deallocate()
        levels = newLevels
        allocated = target
    }

    /// Changes the logical capacity (hnswlib's resize_index). It cannot drop below the element count.
    public func resize(capacity newCapacity: Int) throws {
        guard newCapacity >= count else {
            throw HNSWError.invalidParameter("cannot resize to \(newCapacity): the index holds \(count) elements")
        }
        guard newCapacity < Int(UInt32.max) else {
            throw HNSWError.invalidParameter("capacity must be < \(UInt32.max), got \(newCapacity)")
        }
        capacity = newCapacity
        if allocated > max(newCapacity, 1) || newCapacity > allocated {
            // Re-fit the physical buffers exactly, as hnswlib does.
            reallocate(to: max(newCapacity, 1))
        }
    }

    /// Writes a new element's record (zeroed links, vector, label) and its upper lists.
    func writeRecord(id: UInt32, vector source: UnsafePointer<Float>, label: UInt64, level: Int) {
        let rec = record(id)
        rec.initializeMemory(as: UInt8.self, repeating: 0, count: sizeLinks0)
        let v = vector(id)
        v.update(from: source, count: dim)
        if space == .cosine { Distance.normalize(v, dim: dim) }
        rec.storeBytes(of: label, toByteOffset: labelOffset, as: UInt64.self)
        levels[Int(id)] = UInt8(level)
        if level > 0 {
            let bytes = level * sizeLinksUpper
            let lists = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 8)
            lists.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            upper[Int(id)] = lists
        } else {
            upper[Int(id)] = nil
        }
    }

    // MARK: scratch

    func borrowScratch() -> SearchScratch {
        let cached = scratchPool.withLock { $0.popLast() }
        return cached ?? SearchScratch(capacity: allocated, maxList: max(maxM0, maxM) + 1, dim: dim)
    }

    func returnScratch(_ s: SearchScratch) {
        scratchPool.withLock { $0.append(s) }
    }

    func withScratch<R>(_ body: (SearchScratch) throws -> R) rethrows -> R {
        let s = borrowScratch()
        defer { returnScratch(s) }
        return try body(s)
    }
}

/// The number of links in the list at `list` (the low 16 bits of its header word; on level 0 the
/// delete mark sits above them). Every list, in memory, in a file or in a shard graph, has this header.
@inline(__always) func linkCount(_ list: UnsafePointer<UInt32>) -> Int { Int(list[0] & 0xFFFF) }

/// Sets the link count of the list at `list`, keeping the rest of its header word.
@inline(__always) func setLinkCount(_ list: UnsafeMutablePointer<UInt32>, _ n: Int) {
    list[0] = (list[0] & 0xFFFF_0000) | UInt32(n)
}
