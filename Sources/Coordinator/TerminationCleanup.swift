import Dispatch
import Foundation

/// While a local-mode build runs, SIGTERM or SIGINT removes the coordinator's `ipc://` socket file
/// and stops its worker processes before the process ends, so neither outlives it.
final class TerminationCleanup: @unchecked Sendable {
    // Written once in init, read only from the signal queue afterwards.
    private let sources: [DispatchSourceSignal]

    init(socketPath: String?, workerPIDs: [Int32]) {
        var made: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                if let socketPath { unlink(socketPath) }
                for pid in workerPIDs { kill(pid, SIGTERM) }
                _exit(128 + sig)
            }
            source.resume()
            made.append(source)
        }
        sources = made
    }

    /// Restores the default signal handling.
    func cancel() {
        for s in sources { s.cancel() }
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
    }
}
