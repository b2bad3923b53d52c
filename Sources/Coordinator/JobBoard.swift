/// The state of every shard job: pending, leased to a connection with an attempt number and a
/// deadline, or done. Pure bookkeeping, so each rule is unit-tested without sockets.
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

    /// The shards whose lease deadline has passed.
    public func expired(now: Double) -> [Int] {
        slots.indices.filter { if case .leased(_, _, let d) = slots[$0] { return d < now }; return false }
    }
}
