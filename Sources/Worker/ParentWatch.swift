import Dispatch
import Foundation

/// A local worker ends within a second of its coordinator's death, even in the middle of a shard
/// build (which checks nothing until it finishes): a timer compares the parent process twice a
/// second and ends the process when it changed. Its work is lost either way; the coordinator that
/// resumes rebuilds the shard.
public final class ParentWatch: @unchecked Sendable {
    // Set once in init and only cancelled in deinit: Dispatch's timer type is not marked Sendable.
    private let timer: DispatchSourceTimer

    public init(parent: Int32) {
        let t = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler {
            guard getppid() != parent else { return }
            FileHandle.standardError.write(Data("error: \(WorkerError.parentGone)\n".utf8))
            _exit(1)
        }
        t.resume()
        timer = t
    }

    deinit { timer.cancel() }
}
