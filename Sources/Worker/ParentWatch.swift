import Dispatch
import Foundation

/// A local worker ends within a second of its coordinator's death, even in the middle of a shard
/// build (which checks nothing until it finishes): a timer compares the parent process twice a
/// second and ends the process when it changed. Its work is lost either way; the coordinator that
/// resumes rebuilds the shard. A coordinator killed outright cannot remove its `ipc://` socket
/// file, so the worker removes it on its way out.
public final class ParentWatch: @unchecked Sendable {
    // Set once in init and only cancelled in deinit: Dispatch's timer type is not marked Sendable.
    private let timer: DispatchSourceTimer

    public init(parent: Int32, connect: String) {
        let t = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        t.schedule(deadline: .now() + 0.5, repeating: 0.5)
        t.setEventHandler {
            guard getppid() != parent else { return }
            Self.removeSocket(connect: connect, parent: parent)
            FileHandle.standardError.write(Data("error: \(WorkerError.parentGone)\n".utf8))
            _exit(1)
        }
        t.resume()
        timer = t
    }

    deinit { timer.cancel() }

    /// Removes the socket file of `connect` when it is the one `parent` made for its local workers
    /// (`coordinator-PID.ipc`, or `rct-coordinator-PID-….ipc` in the temporary folder), nothing else.
    static func removeSocket(connect: String, parent: Int32) {
        guard connect.hasPrefix("ipc://") else { return }
        let path = String(connect.dropFirst(6))
        let name = (path as NSString).lastPathComponent
        let made = name == "coordinator-\(parent).ipc" || (name.hasPrefix("rct-coordinator-\(parent)-") && name.hasSuffix(".ipc"))
        if made { unlink(path) }
    }
}
