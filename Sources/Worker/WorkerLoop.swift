import Foundation
import HNSW
import Logging
import Shared

/// How a worker connects and works.
public struct WorkerOptions: Sendable {
    public var connect: String
    public var threads: Int
    public var token: [UInt8]
    public var name: String
    public var tls: TLSSettings?
    /// Give up when the coordinator cannot be reached for this long.
    public var giveUpSeconds: Double
    /// Exit as soon as this process is no longer the parent (local mode's children).
    public var parentPID: Int32?
    public var maxMessageBytes: Int

    public init(connect: String, threads: Int, token: [UInt8], name: String, tls: TLSSettings? = nil, giveUpSeconds: Double = 120,
                parentPID: Int32? = nil, maxMessageBytes: Int = WireMessage.defaultLargeCap) {
        self.connect = connect
        self.threads = max(threads, 1)
        self.token = token
        self.name = name
        self.tls = tls
        self.giveUpSeconds = giveUpSeconds
        self.parentPID = parentPID
        self.maxMessageBytes = maxMessageBytes
    }
}

public enum WorkerError: Error, CustomStringConvertible, Sendable, Equatable {
    case rejected(String)
    case impostor
    case unreachable(url: String, seconds: Int)
    case parentGone

    public var description: String {
        switch self {
        case .rejected(let r): return "the coordinator refused this worker: \(r)"
        case .impostor: return "the coordinator could not prove it holds the cluster token; refusing to work for it"
        case .unreachable(let u, let s): return "no coordinator answered at \(u) for \(s) s; giving up"
        case .parentGone: return "the local coordinator that started this worker has exited"
        }
    }
}

/// What a worker did before it was told to stop.
public struct WorkerSummary: Sendable, Equatable {
    public var jobs = 0
    public var reconnects = 0
}

/// The worker loop: authenticate, pull jobs, build shard graphs, send them back; reconnect when
/// the coordinator restarts; exit on STOP.
public enum WorkerLoop {
    struct ProtocolSlip: Error { let reason: String }

    public static func run(_ o: WorkerOptions, logger: Logger) throws -> WorkerSummary {
        let socket = try NNGSocket(.request, maxMessageBytes: o.maxMessageBytes + 4096)
        defer { socket.close() }
        try socket.setTimeouts(receiveMs: 120_000, sendMs: 5_000)
        try socket.dial(o.connect, tls: o.tls)
        var summary = WorkerSummary()
        var lastContact = Date()

        func exchange(_ m: WireMessage) throws -> WireMessage {
            try socket.send(m.encoded())
            let reply = try WireMessage.decode(try socket.receive(), largeCap: o.maxMessageBytes)
            lastContact = Date()
            return reply
        }

        // Shard graphs this worker built or received in the current session, by shard: refinement
        // jobs then ship only their ids. A new session (a new connection) starts empty, as does the
        // coordinator's record of what this worker holds.
        var cache: [UInt32: HNSWIndex] = [:]
        while true {
            if let p = o.parentPID, getppid() != p { throw WorkerError.parentGone }
            cache.removeAll()
            do {
                guard case .challenge(let nonce) = try exchange(.hello(name: o.name)) else { throw ProtocolSlip(reason: "expected CHALLENGE") }
                let mine = Handshake.nonce()
                let proof = Handshake.proof(token: o.token, role: "worker", nonce: nonce)
                switch try exchange(.auth(mac: proof, nonce: mine)) {
                case .reject(let reason): throw WorkerError.rejected(reason)
                case .welcome(let mac, let id):
                    guard Handshake.verify(mac, token: o.token, role: "coordinator", nonce: mine) else { throw WorkerError.impostor }
                    logger.info("joined the coordinator", metadata: ["url": "\(o.connect)", "worker_id": "\(id)"])
                default: throw ProtocolSlip(reason: "expected WELCOME")
                }
                var reply = try exchange(.ready)
                while true {
                    switch reply {
                    case .job(let job):
                        let (message, index) = build(job, threads: o.threads, logger: logger)
                        if let index { cache[job.shard] = index }
                        reply = try exchange(message)
                        summary.jobs += 1
                    case .refine(let job):
                        reply = try exchange(refine(job, threads: o.threads, cache: &cache, logger: logger))
                        summary.jobs += 1
                    case .wait(let ms):
                        if let p = o.parentPID, getppid() != p { throw WorkerError.parentGone }
                        usleep(UInt32(min(ms, 5000)) * 1000)
                        reply = try exchange(.ready)
                    case .stop:
                        logger.info("stopped by the coordinator", metadata: ["jobs": "\(summary.jobs)"])
                        return summary
                    case .reject(let reason):
                        throw WorkerError.rejected(reason)
                    default:
                        throw ProtocolSlip(reason: "unexpected \(reply.name)")
                    }
                }
            } catch let e as NNGError where e.isTimeout || e.isConnectionLoss {
                try waitToReconnect(o, since: lastContact, reason: "\(e)", logger: logger, summary: &summary)
            } catch let e as ProtocolSlip {
                try waitToReconnect(o, since: lastContact, reason: e.reason, logger: logger, summary: &summary)
            } catch let e as WireError {
                try waitToReconnect(o, since: lastContact, reason: "bad reply: \(e)", logger: logger, summary: &summary)
            }
        }
    }

    private static func waitToReconnect(_ o: WorkerOptions, since last: Date, reason: String, logger: Logger,
                                        summary: inout WorkerSummary) throws {
        if let p = o.parentPID, getppid() != p { throw WorkerError.parentGone }
        let quiet = Date().timeIntervalSince(last)
        if quiet > o.giveUpSeconds { throw WorkerError.unreachable(url: o.connect, seconds: Int(quiet)) }
        summary.reconnects += 1
        logger.info("connection to the coordinator interrupted; starting over", metadata: ["reason": "\(reason)"])
        usleep(200_000)
    }

    /// Refines one shard's boundary elements against the shipped neighbouring shards. Each shipped
    /// graph is assembled (and so validated) first; a bad job is reported, not fatal.
    static func refine(_ job: RefineSpec, threads: Int, cache: inout [UInt32: HNSWIndex], logger: Logger) -> WireMessage {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            var graphs: [UInt32: MemberGraph] = [:]
            for s in job.shards {
                let index: HNSWIndex
                if s.cached {
                    guard let held = cache[s.shard], held.count == s.members.count, held.dim == job.dim, held.M == job.M else {
                        throw HNSWError.invalidGraph("shard \(s.shard) was sent as cached but this worker does not hold it")
                    }
                    index = held
                } else {
                    guard s.members.count == s.labels.count else { throw HNSWError.invalidGraph("shard \(s.shard): member and label counts differ") }
                    index = try s.vectors.withUnsafeBufferPointer { rows in
                        try s.graph.withUnsafeBytes {
                            try HNSWIndex.assemble(space: job.space, dim: job.dim, M: job.M, efConstruction: job.efConstruction, seed: job.seed,
                                                   rows: rows, labels: s.labels, graph: $0)
                        }
                    }
                    cache[s.shard] = index
                }
                graphs[s.shard] = MemberGraph(index: index, members: s.members)
            }
            guard let own = graphs[job.shard] else { throw HNSWError.invalidGraph("the shard to refine was not sent") }
            var others = graphs
            others[job.shard] = nil
            let out = try HNSWIndex.refine(own: own, others: others, boundary: job.boundary, crossK: job.crossK, crossEf: job.crossEf,
                                           threads: threads)
            let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
            logger.info("shard refined", metadata: ["shard": "\(job.shard)", "elements": "\(job.boundary.count)",
                                                    "refine_s": "\(String(format: "%.2f", Double(micros) * 1e-6))"])
            return .refined(RefineResult(shard: job.shard, attempt: job.attempt, micros: micros, output: out))
        } catch {
            return .failure(shard: job.shard | 0x8000_0000, attempt: job.attempt, reason: "\(error)")
        }
    }

    /// Builds one shard graph; a job that cannot be built is reported, not fatal.
    static func build(_ job: JobSpec, threads: Int, logger: Logger) -> (WireMessage, HNSWIndex?) {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let index = try HNSWIndex(space: job.space, dim: job.dim, M: job.M, efConstruction: job.efConstruction,
                                      capacity: job.labels.count, seed: job.seed)
            try job.vectors.withUnsafeBufferPointer {
                try index.add(rows: $0, labels: job.labels, options: BuildOptions(threads: threads, batchSize: job.batchSize))
            }
            let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
            logger.info("shard built", metadata: ["shard": "\(job.shard)", "attempt": "\(job.attempt)", "items": "\(job.labels.count)",
                                                  "build_s": "\(String(format: "%.2f", Double(micros) * 1e-6))"])
            return (.result(ShardResult(shard: job.shard, attempt: job.attempt, buildMicros: micros, graph: index.encodeGraph())), index)
        } catch {
            return (.failure(shard: job.shard, attempt: job.attempt, reason: "\(error)"), nil)
        }
    }
}
