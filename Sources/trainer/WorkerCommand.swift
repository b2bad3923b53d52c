import ArgumentParser
import Foundation
import Logging
import Shared
import Worker

struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "A cluster worker: connects to a coordinator, proves the shared token, builds shard graphs until told to stop.")

    @Option(help: "Coordinator address: tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc:///PATH.") var connect: String
    @Option(parsing: .unconditional, help: "Build threads (0 = all cores).") var threads: Int = 0
    @Option(name: .customLong("token-env"), help: "Environment variable holding the shared cluster token.")
    var tokenEnv: String = "TRAINER_CLUSTER_TOKEN"
    @Option(name: .customLong("token-file"), help: "File holding the shared cluster token, e.g. a mounted secret (takes precedence over --token-env).")
    var tokenFile: String?
    @Option(help: "Name shown in the coordinator's log and metadata (default: host-pid).") var name: String?
    @Option(name: .customLong("tls-ca"), help: "PEM file of the CA that signed the coordinator's certificate (tls+tcp://).")
    var tlsCA: String?
    @Option(name: .customLong("tls-server-name"), help: "Name the coordinator's certificate must carry (default: the host in --connect).")
    var tlsServerName: String?
    @Option(name: .customLong("give-up-after"), parsing: .unconditional, help: "Seconds without reaching a coordinator before exiting.") var giveUpAfter: Double = 120
    @Option(name: .customLong("parent-pid"), help: ArgumentHelp("Exit when this process is no longer the parent (local mode).", visibility: .hidden))
    var parentPID: Int32?
    @Option(name: .customLong("chunk-kib"), parsing: .unconditional,
            help: ArgumentHelp("Result bytes per RESULT_CHUNK message, in KiB (1…1024; for measurements).", visibility: .hidden))
    var chunkKiB: Int = WireMessage.chunkBytes >> 10
    @Flag(help: "Log warnings and errors only.") var quiet = false

    func validate() throws {
        guard threads >= 0 else { throw ValidationError("--threads must be ≥ 0, got \(threads)") }
        guard giveUpAfter > 0, giveUpAfter.isFinite else { throw ValidationError("--give-up-after must be > 0 seconds, got \(giveUpAfter)") }
        let most = WireMessage.chunkBytes >> 10
        guard (1...most).contains(chunkKiB) else { throw ValidationError("--chunk-kib must be within 1…\(most), got \(chunkKiB)") }
    }

    func run() throws {
        var handler = RunLogHandler()
        handler.logLevel = quiet ? .warning : .info
        let logger = Logger(label: "worker") { _ in handler }
        let token: [UInt8]
        do { token = try Handshake.token(file: tokenFile, variable: tokenEnv) } catch let e as HandshakeError { throw CLIError.usage("\(e)") }
        if connect.hasPrefix("tls+"), tlsCA == nil {
            throw CLIError.usage("--connect \(connect) uses TLS: give --tls-ca with the CA that signed the coordinator's certificate")
        }
        let host = ProcessInfo.processInfo.hostName
        let options = WorkerOptions(connect: connect, threads: resolveThreads(threads), token: token, name: name ?? "\(host)-\(getpid())",
                                    tls: TLSSettings(caFile: tlsCA, serverName: tlsServerName), giveUpSeconds: giveUpAfter, parentPID: parentPID,
                                    chunkBytes: chunkKiB << 10)
        let watch = parentPID.map { ParentWatch(parent: $0, connect: connect) }
        defer { withExtendedLifetime(watch) {} }
        do {
            let summary = try WorkerLoop.run(options, logger: logger)
            if !quiet { print("worker done: \(summary.jobs) jobs, \(summary.reconnects) reconnects") }
        } catch let e as WorkerError {
            switch e {
            case .rejected, .impostor: throw CLIError.usage("\(e)")
            case .unreachable, .parentGone: throw CLIError.runtime("\(e)")
            }
        } catch let e as NNGError {
            throw CLIError.runtime("\(e)")
        }
    }
}
