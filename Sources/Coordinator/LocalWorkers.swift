import Foundation
import Logging

/// Worker child processes for local mode: the same `trainer worker` a cluster node runs, over ipc://.
final class LocalWorkers: @unchecked Sendable {
    private var processes: [Process] = []

    /// Starts `count` workers of `executable` dialing `url`, handing them the token through `tokenEnv`.
    init(count: Int, executable: String, url: String, threads: Int, tokenEnv: String, token: String, logger: Logger) throws {
        var env = ProcessInfo.processInfo.environment
        env[tokenEnv] = token
        for k in 0..<count {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = ["worker", "--connect", url, "--threads", "\(threads)", "--token-env", tokenEnv,
                           "--name", "local-\(k + 1)", "--parent-pid", "\(getpid())", "--quiet"]
            p.environment = env
            do { try p.run() } catch {
                stop()
                throw CoordinatorError.transport("cannot start local worker \(k + 1) (\(executable)): \(error.localizedDescription)")
            }
            logger.info("local worker started", metadata: ["worker": "local-\(k + 1)", "pid": "\(p.processIdentifier)"])
            processes.append(p)
        }
    }

    var pids: [Int32] { processes.map(\.processIdentifier) }

    /// True while at least one worker runs.
    var anyAlive: Bool { processes.contains { $0.isRunning } }

    /// Waits up to `seconds` for the workers to exit after STOP, then terminates the rest.
    func stop(grace seconds: Double = 0) {
        let deadline = Date().addingTimeInterval(seconds)
        while processes.contains(where: { $0.isRunning }), Date() < deadline { usleep(20_000) }
        for p in processes where p.isRunning { p.terminate() }
        for p in processes { p.waitUntilExit() }
    }
}
