import Dispatch
import Foundation
import Logging
import Synchronization

/// Progress of a long phase: a rewritten line with items/s and ETA on a terminal, otherwise a log
/// event every ten seconds.
public final class ProgressReporter: Sendable {
    private let phase: String
    private let unit: String
    private let logger: Logger
    private let terminal: Bool
    private let started: UInt64
    private let last: Atomic<UInt64>

    /// - Parameter unit: what is counted (plural), e.g. "items" or "shards".
    public init(phase: String, unit: String = "items", logger: Logger) {
        self.phase = phase
        self.unit = unit
        self.logger = logger
        terminal = isatty(2) != 0
        started = DispatchTime.now().uptimeNanoseconds
        last = Atomic(started)
    }

    public func update(_ done: Int, _ total: Int) {
        let now = DispatchTime.now().uptimeNanoseconds
        let interval: UInt64 = terminal ? 200_000_000 : 10_000_000_000
        guard now - last.load(ordering: .relaxed) >= interval || done == total else { return }
        last.store(now, ordering: .relaxed)
        let secs = Double(now - started) * 1e-9
        let rate = secs > 0 ? Double(done) / secs : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        if terminal {
            let pct = total > 0 ? 100 * done / total : 100
            let line = String(format: "\r%@ %3d%% %d/%d %@, %.1f %@/s, ETA %.0f s", phase, pct, done, total, unit, rate, unit, eta)
            FileHandle.standardError.write(Data((line + (done == total ? "\n" : "")).utf8))
        } else {
            logger.info("progress", metadata: ["phase": "\(phase)", "done": "\(done)", "total": "\(total)",
                                               "\(unit)_per_s": "\(String(format: "%.1f", rate))", "eta_s": "\(Int(eta))"])
        }
    }
}
