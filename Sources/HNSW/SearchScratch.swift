/// A (distance, internal id) pair.
struct Candidate {
    var distance: Float
    var id: UInt32
}

/// A binary max-heap on distance over manually managed storage (no copy-on-write in hot loops).
/// The owner frees `storage` with `deallocate()`.
struct MaxHeap {
    private(set) var storage: UnsafeMutablePointer<Candidate>
    private(set) var capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        self.capacity = max(capacity, 16)
        storage = .allocate(capacity: self.capacity)
    }

    func deallocate() { storage.deallocate() }

    @inline(__always) var isEmpty: Bool { count == 0 }
    @inline(__always) var top: Candidate { storage[0] }
    @inline(__always) mutating func removeAll() { count = 0 }

    mutating func push(_ distance: Float, _ id: UInt32) {
        if count == capacity { grow() }
        var i = count
        count += 1
        while i > 0 {
            let parent = (i - 1) >> 1
            if storage[parent].distance >= distance { break }
            storage[i] = storage[parent]
            i = parent
        }
        storage[i] = Candidate(distance: distance, id: id)
    }

    @discardableResult
    mutating func pop() -> Candidate {
        let result = storage[0]
        count -= 1
        if count > 0 {
            let last = storage[count]
            var i = 0
            while true {
                var child = 2 * i + 1
                if child >= count { break }
                if child + 1 < count && storage[child + 1].distance > storage[child].distance { child += 1 }
                if storage[child].distance <= last.distance { break }
                storage[i] = storage[child]
                i = child
            }
            storage[i] = last
        }
        return result
    }

    private mutating func grow() {
        let bigger = UnsafeMutablePointer<Candidate>.allocate(capacity: capacity * 2)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }
}

/// Per-thread scratch space for searches: visited tags, the two heaps, id and distance buffers.
final class SearchScratch: @unchecked Sendable {
    private(set) var visited: UnsafeMutablePointer<UInt16>
    private(set) var visitedCapacity: Int
    private(set) var tag: UInt16 = 0
    var top: MaxHeap
    var candidates: MaxHeap
    let ids: UnsafeMutablePointer<UInt32>
    let dists: UnsafeMutablePointer<Float>
    let listCapacity: Int
    /// A query buffer (normalised copy for the cosine space).
    let query: UnsafeMutablePointer<Float>
    /// Work space for neighbour selection.
    var pool: [Candidate] = []
    var selected: [Candidate] = []

    init(capacity: Int, maxList: Int, dim: Int) {
        visitedCapacity = max(capacity, 1)
        visited = .allocate(capacity: visitedCapacity)
        visited.initialize(repeating: 0, count: visitedCapacity)
        top = MaxHeap(capacity: 256)
        candidates = MaxHeap(capacity: 256)
        listCapacity = maxList
        ids = .allocate(capacity: maxList)
        dists = .allocate(capacity: maxList)
        query = .allocate(capacity: max(dim, 1))
    }

    deinit {
        visited.deallocate()
        top.deallocate()
        candidates.deallocate()
        ids.deallocate()
        dists.deallocate()
        query.deallocate()
    }

    /// Starts a new traversal: a fresh tag, clearing the tags only when the counter wraps.
    @inline(__always)
    func beginVisit(elements: Int) -> UInt16 {
        if elements > visitedCapacity {
            visited.deallocate()
            visitedCapacity = max(elements, visitedCapacity * 2)
            visited = .allocate(capacity: visitedCapacity)
            visited.initialize(repeating: 0, count: visitedCapacity)
            tag = 0
        }
        tag &+= 1
        if tag == 0 {
            visited.update(repeating: 0, count: visitedCapacity)
            tag = 1
        }
        return tag
    }
}
