import Foundation
import HNSW
import Logging
import Shared
import Synchronization

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
    /// Cap of a job message this worker receives.
    public var maxMessageBytes: Int
    /// Result bytes per RESULT_CHUNK (at most `WireMessage.chunkBytes`).
    public var chunkBytes: Int

    public init(connect: String, threads: Int, token: [UInt8], name: String, tls: TLSSettings? = nil, giveUpSeconds: Double = 120,
                parentPID: Int32? = nil, maxMessageBytes: Int = WireMessage.defaultLargeCap, chunkBytes: Int = WireMessage.chunkBytes) {
        self.connect = connect
        self.threads = max(threads, 1)
        self.token = token
        self.name = name
        self.tls = tls
        self.giveUpSeconds = giveUpSeconds
        self.parentPID = parentPID
        self.maxMessageBytes = maxMessageBytes
        self.chunkBytes = min(max(chunkBytes, 1), WireMessage.chunkBytes)
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
        do { return try serve(o, logger: logger) } catch WorkerError.parentGone {
            if let p = o.parentPID { ParentWatch.removeSocket(connect: o.connect, parent: p) }
            throw WorkerError.parentGone
        }
    }

    static func serve(_ o: WorkerOptions, logger: Logger) throws -> WorkerSummary {
        let socket = try NNGSocket(.request, maxMessageBytes: o.maxMessageBytes + 4096)
        defer { socket.close() }
        try socket.setTimeouts(receiveMs: 120_000, sendMs: 5_000)
        try socket.dial(o.connect, tls: o.tls)
        var summary = WorkerSummary()
        var lastContact = Date()

        func exchange(_ m: WireMessage) throws -> WireMessage {
            try socket.send(m.encoded())
            // Decoded in place: a refinement job is not copied out of the message first.
            let reply = try socket.receive { try WireMessage.decode(raw: $0, largeCap: o.maxMessageBytes) }
            lastContact = Date()
            return reply
        }

        // A finished job's answer: a result goes in chunks, anything else as one message. A result
        // the coordinator no longer wants (ABANDON) is dropped and the next job asked for.
        func deliver(_ m: WireMessage) throws -> WireMessage {
            let sent: WireMessage?
            switch m {
            case .result(let r):
                sent = try upload(r.graph, job: r.shard, attempt: r.attempt, micros: r.buildMicros, chunkBytes: o.chunkBytes, exchange: exchange)
            case .refined(let r):
                sent = try upload(m.encoded(), job: r.shard | 0x8000_0000, attempt: r.attempt, micros: r.micros, chunkBytes: o.chunkBytes,
                                  exchange: exchange)
            default:
                return try exchange(m)
            }
            if let sent { return sent }
            logger.info("result dropped: the coordinator has it already", metadata: ["job": "\(m.name)"])
            return try exchange(.ready)
        }

        // Shard graphs this worker built in the current session, or received for its last refinement,
        // by shard: refinement jobs then ship only their ids. A new session (a new connection) starts
        // empty, as does the coordinator's record of what this worker holds.
        var cache: [UInt32: HNSWIndex] = [:]
        var reportMs: UInt32 = 1000
        while true {
            if let p = o.parentPID, getppid() != p { throw WorkerError.parentGone }
            cache.removeAll()
            do {
                guard case .challenge(let nonce) = try exchange(.hello(name: o.name)) else { throw ProtocolSlip(reason: "expected CHALLENGE") }
                let mine = Handshake.nonce()
                let proof = Handshake.proof(token: o.token, role: "worker", nonce: nonce)
                switch try exchange(.auth(mac: proof, nonce: mine)) {
                case .reject(let reason): throw WorkerError.rejected(reason)
                case .welcome(let mac, let id, let ms):
                    guard Handshake.verify(mac, token: o.token, role: "coordinator", nonce: mine) else { throw WorkerError.impostor }
                    reportMs = ms
                    logger.info("joined the coordinator", metadata: ["url": "\(o.connect)", "worker_id": "\(id)"])
                default: throw ProtocolSlip(reason: "expected WELCOME")
                }
                var reply = try exchange(.ready)
                while true {
                    switch reply {
                    case .job(let job):
                        let threads = o.threads
                        let outcome = try reporting(job: job.shard, attempt: job.attempt, every: reportMs, exchange: exchange) { control in
                            build(job, threads: threads, control: control, logger: logger)
                        }
                        let (message, index) = outcome.value
                        guard !outcome.abandoned else {
                            logger.info("job abandoned: the coordinator has its result", metadata: ["shard": "\(job.shard)", "attempt": "\(job.attempt)"])
                            reply = try exchange(.ready)
                            continue
                        }
                        if let index { cache[job.shard] = index }
                        reply = try deliver(message)
                        summary.jobs += 1
                    case .refine(let job):
                        // Only the shards this job names stay (the coordinator's record of what this
                        // worker holds follows the same rule): a worker holds the shard it refines and
                        // its neighbours, not every shard of the session.
                        let named = Set(job.shards.map(\.shard))
                        cache = cache.filter { named.contains($0.key) }
                        let held = cache
                        let outcome = try reporting(job: job.shard | 0x8000_0000, attempt: job.attempt, every: reportMs, exchange: exchange) { _ in
                            refine(job, threads: o.threads, cache: held, logger: logger)
                        }
                        let (message, received) = outcome.value
                        // The coordinator counts the shipped graphs as held by this worker either way.
                        cache.merge(received) { a, _ in a }
                        logger.info("shard graphs held", metadata: ["refined": "\(job.shard)", "shards": "\(cache.keys.sorted().map(String.init).joined(separator: ","))"])
                        guard !outcome.abandoned else {
                            logger.info("refinement abandoned: the coordinator has its result", metadata: ["shard": "\(job.shard)"])
                            reply = try exchange(.ready)
                            continue
                        }
                        reply = try deliver(message)
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

    /// Sends `blob`, a finished job's result, in RESULT_CHUNK messages of at most `chunkBytes`, in
    /// order, each but the last answered with CHUNK_RECEIVED. Returns the answer to the last one
    /// (the next job, WAIT or STOP), or nil when the coordinator answered ABANDON: it has the job's
    /// result already.
    static func upload(_ blob: [UInt8], job: UInt32, attempt: UInt32, micros: UInt64, chunkBytes: Int,
                       exchange: (WireMessage) throws -> WireMessage) throws -> WireMessage? {
        guard !blob.isEmpty else { throw ProtocolSlip(reason: "a job ended with an empty result") }
        let total = UInt64(blob.count)
        let checksum = blob.withUnsafeBytes { WireMessage.checksum(continuing: nil, $0) }
        let step = min(max(chunkBytes, 1), WireMessage.chunkBytes)
        var offset = 0
        while true {
            let end = min(offset + step, blob.count)
            let reply = try exchange(.resultChunk(ResultChunk(job: job, attempt: attempt, micros: micros, total: total, checksum: checksum,
                                                              offset: UInt64(offset), data: Array(blob[offset..<end]))))
            if case .abandon = reply { return nil }
            if end == blob.count { return reply }
            guard case .chunkReceived(let next) = reply else { throw ProtocolSlip(reason: "unexpected \(reply.name) in answer to RESULT_CHUNK") }
            guard next == UInt64(end) else { throw ProtocolSlip(reason: "the coordinator asked for offset \(next) of the result, not \(end)") }
            offset = end
        }
    }

    /// Runs `work` on its own thread while this thread reports its progress to the coordinator
    /// every `ms` milliseconds (as the coordinator's replies ask), so a long job keeps its lease.
    /// `abandoned` is true when the coordinator said the job is no longer needed; the work was then
    /// told to stop and waited for. A connection failure stops the work too before it is thrown.
    static func reporting<T: Sendable>(job: UInt32, attempt: UInt32, every ms: UInt32, exchange: (WireMessage) throws -> WireMessage,
                                       _ work: @escaping @Sendable (JobControl) -> T) throws -> (value: T, abandoned: Bool) {
        let control = JobControl()
        let finished = DispatchSemaphore(value: 0)
        let result = ResultSlot<T>()
        let thread = Thread {
            result.value.withLock { $0 = work(control) }
            finished.signal()
        }
        // The builds' own threads do the heavy work; this one only needs room for their setup.
        thread.stackSize = 8 << 20
        thread.start()
        var interval = ms
        var abandoned = false
        do {
            while !abandoned, finished.wait(timeout: .now() + .milliseconds(Int(min(max(interval, 10), 60_000)))) == .timedOut {
                let reply = try exchange(.progress(job: job, attempt: attempt, done: control.done.load(ordering: .relaxed),
                                                   total: control.total.load(ordering: .relaxed)))
                switch reply {
                case .carryOn(let next): interval = next
                case .abandon:
                    control.stop.store(true, ordering: .relaxed)
                    abandoned = true
                default: throw ProtocolSlip(reason: "unexpected \(reply.name) in answer to PROGRESS")
                }
            }
        } catch {
            control.stop.store(true, ordering: .relaxed)
            finished.wait()
            throw error
        }
        // The loop consumed the signal unless it left to abandon the job.
        if abandoned { finished.wait() }
        guard let value = result.value.withLock({ $0 }) else { throw ProtocolSlip(reason: "a job's thread ended without a result") }
        return (value, abandoned)
    }

    /// Refines one shard's boundary elements against the shipped neighbouring shards. Each shipped
    /// graph is assembled (and so validated) first; a bad job is reported, not fatal. Returns the
    /// message and the shard graphs received, which later jobs may name as cached.
    static func refine(_ job: RefineSpec, threads: Int, cache: [UInt32: HNSWIndex], logger: Logger) -> (WireMessage, [UInt32: HNSWIndex]) {
        let started = DispatchTime.now().uptimeNanoseconds
        var received: [UInt32: HNSWIndex] = [:]
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
                    received[s.shard] = index
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
            return (.refined(RefineResult(shard: job.shard, attempt: job.attempt, micros: micros, output: out)), received)
        } catch {
            return (.failure(shard: job.shard | 0x8000_0000, attempt: job.attempt, reason: "\(error)"), received)
        }
    }

    /// Builds one shard graph; a job that cannot be built is reported, not fatal.
    static func build(_ job: JobSpec, threads: Int, control: JobControl, logger: Logger) -> (WireMessage, HNSWIndex?) {
        let started = DispatchTime.now().uptimeNanoseconds
        do {
            let index = try HNSWIndex(space: job.space, dim: job.dim, M: job.M, efConstruction: job.efConstruction,
                                      capacity: job.labels.count, seed: job.seed)
            try job.vectors.withUnsafeBufferPointer {
                let options = BuildOptions(threads: threads, batchSize: job.batchSize,
                                           progress: { done, total in
                                               control.total.store(UInt64(total), ordering: .relaxed)
                                               control.done.store(UInt64(done), ordering: .relaxed)
                                           },
                                           shouldStop: { control.stop.load(ordering: .relaxed) })
                try index.add(rows: $0, labels: job.labels, options: options)
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

/// What a job running on its own thread shares with the thread that reports on it.
final class JobControl: Sendable {
    let done = Atomic<UInt64>(0)
    let total = Atomic<UInt64>(0)
    /// Set when the job is no longer wanted; the build stops after its current batch.
    let stop = Atomic<Bool>(false)
}

/// The value a job's thread hands back.
private final class ResultSlot<T: Sendable>: Sendable {
    let value = Locked<T?>(nil)
}
