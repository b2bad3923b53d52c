/// The state of every shard job: pending, leased to a connection with an attempt number and a
/// deadline, or done. Pure bookkeeping, so each rule is unit-tested without sockets.
///
/// A lease's deadline is the time by which its worker must next show progress: each report that
/// shows it moves the deadline on, so a long job on a live worker is never taken back, and a
/// dead, hung or silent worker loses its job one lease after it was last heard.
public struct JobBoard: Sendable {
    public enum Slot: Sendable, Equatable {
        case pending
        case leased(pipe: UInt32, attempt: UInt32, deadline: Double)
        case done
    }

    public private(set) var slots: [Slot]
    /// The last attempt number handed out per shard (attempts start at 1).
    public private(set) var attempts: [UInt32]
    /// Failed attempts per shard (disconnects, expired leases, invalid results, worker failures).
    public private(set) var failures: [Int]
    public let maxFailures: Int

    public init(shards: Int, done: Set<Int> = [], maxFailures: Int = 5) {
        slots = (0..<shards).map { done.contains($0) ? .done : .pending }
        attempts = [UInt32](repeating: 0, count: shards)
        failures = [Int](repeating: 0, count: shards)
        self.maxFailures = maxFailures
    }

    public var isComplete: Bool { slots.allSatisfy { $0 == .done } }
    public var doneCount: Int { slots.filter { $0 == .done }.count }

    /// True when every job in `range` is done.
    public func allDone(_ range: Range<Int>) -> Bool { range.allSatisfy { slots[$0] == .done } }

    /// Leases the lowest pending job that `available` allows to `pipe`, or nil when there is none.
    public mutating func lease(to pipe: UInt32, now: Double, leaseSeconds: Double,
                               available: (Int) -> Bool = { _ in true }) -> (shard: Int, attempt: UInt32)? {
        guard let s = slots.indices.first(where: { slots[$0] == .pending && available($0) }) else { return nil }
        attempts[s] += 1
        slots[s] = .leased(pipe: pipe, attempt: attempts[s], deadline: now + leaseSeconds)
        return (s, attempts[s])
    }

    /// True when (shard, attempt) is the live lease of `pipe`; anything else is stale.
    public func isCurrent(shard: Int, attempt: UInt32, pipe: UInt32) -> Bool {
        guard shard >= 0, shard < slots.count else { return false }
        return slots[shard] == .leased(pipe: pipe, attempt: attempt, deadline: deadline(shard))
    }

    private func deadline(_ s: Int) -> Double {
        if case .leased(_, _, let d) = slots[s] { return d }
        return 0
    }

    /// True while a job is not done: a valid result for it is still wanted, whichever attempt sends it.
    public func isOpen(_ shard: Int) -> Bool { shard >= 0 && shard < slots.count && slots[shard] != .done }

    /// Moves the deadline of (shard, attempt) held by `pipe` to `deadline`; false when that is not the live lease.
    @discardableResult
    public mutating func extend(shard: Int, attempt: UInt32, pipe: UInt32, deadline: Double) -> Bool {
        guard isCurrent(shard: shard, attempt: attempt, pipe: pipe) else { return false }
        slots[shard] = .leased(pipe: pipe, attempt: attempt, deadline: deadline)
        return true
    }

    /// Gives a pending job back to the worker still making progress on an attempt whose lease had
    /// lapsed, so the job is not started again from scratch; false unless the job is pending.
    @discardableResult
    public mutating func reclaim(shard: Int, attempt: UInt32, pipe: UInt32, deadline: Double) -> Bool {
        guard shard >= 0, shard < slots.count, slots[shard] == .pending, attempt >= 1, attempt <= attempts[shard] else { return false }
        slots[shard] = .leased(pipe: pipe, attempt: attempt, deadline: deadline)
        return true
    }

    public mutating func complete(shard: Int) { slots[shard] = .done }

    /// Puts a leased shard back to pending after a failed attempt. Returns false once the shard
    /// has failed `maxFailures` times.
    @discardableResult
    public mutating func fail(shard: Int) -> Bool {
        if case .leased = slots[shard] { slots[shard] = .pending }
        failures[shard] += 1
        return failures[shard] < maxFailures
    }

    /// The shards leased to a connection that went away.
    public func leases(of pipe: UInt32) -> [Int] {
        slots.indices.filter { if case .leased(let p, _, _) = slots[$0] { return p == pipe }; return false }
    }

    /// Moves every lease's deadline on by `seconds`: time in which the coordinator itself could not
    /// hear its workers does not count against them.
    public mutating func postpone(by seconds: Double) {
        for s in slots.indices {
            if case .leased(let p, let a, let d) = slots[s] { slots[s] = .leased(pipe: p, attempt: a, deadline: d + seconds) }
        }
    }

    /// The shards whose lease deadline has passed.
    public func expired(now: Double) -> [Int] {
        slots.indices.filter { if case .leased(_, _, let d) = slots[$0] { return d < now }; return false }
    }
}
