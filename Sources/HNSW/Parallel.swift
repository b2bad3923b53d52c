import Dispatch
import Synchronization

/// Runs work over T threads with dynamic chunking. The results of the index's parallel phases
/// never depend on which thread ran which chunk, so the schedule is free to be dynamic. Public for
/// the coordinator's partitioning, whose rows are likewise independent.
public enum Parallel {
    private final class Cursor: Sendable {
        let next = Atomic<Int>(0)
    }

    /// A pointer wrapper that may cross threads; the phases that use it write disjoint memory.
    public struct Unchecked<T>: @unchecked Sendable {
        public let value: T
        public init(_ value: T) { self.value = value }
    }

    /// Calls `body(range, worker)` over 0..<count in chunks of `grain`, on `threads` workers.
    public static func forEach(count: Int, threads: Int, grain: Int, _ body: (Range<Int>, Int) -> Void) {
        if count <= 0 { return }
        let workers = min(max(threads, 1), (count + grain - 1) / grain)
        if workers <= 1 {
            body(0..<count, 0)
            return
        }
        let cursor = Cursor()
        withoutActuallyEscaping(body) { body in
            let task = Unchecked(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                while true {
                    let start = cursor.next.wrappingAdd(grain, ordering: .relaxed).oldValue
                    if start >= count { break }
                    task.value(start..<min(start + grain, count), worker)
                }
            }
        }
    }
}
