import Foundation
import HNSW
import Logging
import Shared
import Synchronization

/// The coordinator's job server: REP contexts that authenticate workers and hand out shard jobs
/// (READY → JOB / WAIT / STOP; a result's RESULT_CHUNKs → CHUNK_RECEIVED, then the next of those).
/// Result chunks go straight to a temporary file in the work folder; the whole result is checked,
/// assembled into a shard graph and kept there. A malformed message closes its connection only.
final class JobServer: @unchecked Sendable {
    enum Reply {
        case send(WireMessage)
        /// A refinement job, already written in place into its outgoing message (`refineMessage`).
        case sendWritten(OutgoingMessage)
        case sendThenClose(WireMessage)
        case close
    }

    struct Peer {
        var name = "?"
        var challenge: [UInt8]?
        var authenticated = false
        var workerID: UInt32 = 0
        /// Shards this connection's worker holds (it built them, or a refinement job shipped them).
        var held: Set<Int> = []
    }

    /// A result arriving in chunks on one connection, written to a temporary file beside the work
    /// folder file it becomes. Dropping the last reference removes the temporary file.
    final class Upload: @unchecked Sendable {
        let job: Int
        let wireJob: UInt32
        let attempt: UInt32
        let micros: UInt64
        let total: UInt64
        let checksum: UInt32
        /// Bytes written so far and their CRC-32, and the writer, behind one lock: a peer may send
        /// several requests without waiting for replies, and nng's REP hands them to different
        /// contexts, so two chunks of one connection can be handled at once.
        struct Written {
            var received: UInt64 = 0
            var crc: UInt32?
            /// Seconds from the first chunk to the last one written.
            var transferSeconds = 0.0
        }
        let written = Locked(Written())
        private let writer: FileIO.AtomicWriter
        /// When the first chunk arrived.
        let started = JobServer.now()

        enum ChunkProblem: Error {
            case outOfOrder(expected: UInt64)
            case io(any Error)
        }

        /// Appends `c` if it continues the bytes written so far; returns the bytes written then.
        func append(_ c: ResultChunk) -> Result<UInt64, ChunkProblem> {
            written.withLock { w in
                guard c.offset == w.received else { return .failure(.outOfOrder(expected: w.received)) }
                do {
                    try c.data.withUnsafeBytes { b in if let base = b.baseAddress { try writer.write(base, count: b.count) } }
                } catch {
                    return .failure(.io(error))
                }
                w.crc = c.data.withUnsafeBytes { WireMessage.checksum(continuing: w.crc, $0) }
                w.received += UInt64(c.data.count)
                if w.received == total { w.transferSeconds = JobServer.now() - started }
                return .success(w.received)
            }
        }

        /// Syncs the temporary file and reads the whole result back.
        func readBack() throws -> [UInt8] {
            try written.withLock { _ in
                try writer.sync()
                return try FileIO.readAll(writer.tempPath)
            }
        }

        /// Moves the result into place in the work folder.
        func commit() throws { try written.withLock { _ in try writer.commit() } }

        init(job: Int, first c: ResultChunk, writer: FileIO.AtomicWriter) {
            self.job = job
            wireJob = c.job
            attempt = c.attempt
            micros = c.micros
            total = c.total
            checksum = c.checksum
            self.writer = writer
        }
    }

    struct State {
        var board: JobBoard
        var peers: [UInt32: Peer] = [:]
        /// Results in transit, by connection (at most one each).
        var uploads: [UInt32: Upload] = [:]
        /// The connections each job has been leased to: only they may send its result.
        var holders: [Int: Set<UInt32>] = [:]
        /// Shards whose refinement is done (kept in the work folder, not in memory).
        var refined: Set<Int> = []
        var refineSeconds: [Int: Double] = [:]
        var jobsByWorker: [String: Int] = [:]
        var buildSeconds: [Int: Double] = [:]
        var jobsRun = 0
        var retries = 0
        var rejected = 0
        var nextWorkerID: UInt32 = 1
        /// The last progress reported per job, with the attempt that reported it.
        var reported: [Int: (attempt: UInt32, done: UInt64)] = [:]
        /// Results that arrived after their attempt's lease had lapsed and were kept.
        var lateResults = 0
        /// When the lease check last ran.
        var lastTick: Double?
        var failure: CoordinatorError?
        var finished = false
    }

    let socket: NNGSocket
    let token: [UInt8]
    let inputs: ShardInputs
    var plan: ShardPlan { inputs.plan }
    var parameters: IndexParameters { inputs.parameters }
    /// How long a worker holding a job may go without showing progress.
    let leaseSeconds: Double
    /// How often workers report progress: four reports per lease, at most every 10 s.
    var reportMilliseconds: UInt32 { UInt32(min(max(leaseSeconds * 250, 50), 10_000)) }
    let work: WorkFolder
    let logger: Logger
    let progress: ProgressReporter?
    let refine: RefineSettings
    /// 2 when shard builds are followed by refinement jobs (S > 1), else 1. Job j < S builds shard j;
    /// job S + s refines shard s and is handed out once every shard is built.
    let phases: Int
    let state: Locked<State>
    var shardCount: Int { plan.shards.count }

    init(socket: NNGSocket, token: [UInt8], inputs: ShardInputs, leaseSeconds: Double, work: WorkFolder, refine: RefineSettings,
         resumed: WorkFolder.Saved, resumedShards: Set<Int>, logger: Logger, progress: ProgressReporter?) {
        self.socket = socket
        self.token = token
        self.inputs = inputs
        self.leaseSeconds = leaseSeconds
        self.work = work
        self.logger = logger
        self.progress = progress
        self.refine = refine
        let S = inputs.plan.shards.count
        phases = S > 1 ? 2 : 1
        let done = resumedShards.union(phases == 2 ? Set(resumed.refined.map { $0 + S }) : [])
        var st = State(board: JobBoard(shards: S * phases, done: done))
        st.refined = phases == 2 ? resumed.refined : []
        state = Locked(st)
    }

    static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

    // MARK: serving

    /// Serves on `contexts` contexts until the board is complete or a fatal failure, then keeps
    /// answering STOP for `drainSeconds` so idle workers hear it.
    func serve(contexts: Int, drainSeconds: Double, alive: @escaping @Sendable () -> Bool) async throws {
        try socket.onPipeRemoved { [weak self] pipe in self?.disconnected(pipe) }
        let ctxs = try (0..<contexts).map { _ in try socket.context() }
        await withTaskGroup(of: Void.self) { group in
            for ctx in ctxs {
                group.addTask { await self.loop(ctx) }
            }
            group.addTask {
                while true {
                    try? await Task.sleep(for: .milliseconds(200))
                    if self.tick(alive: alive) { break }
                }
                try? await Task.sleep(for: .milliseconds(Int(drainSeconds * 1000)))
                // Closing aborts every context's pending receive, which ends the loops. nng_close then
                // waits for its pipes to be torn down, and with peers that vanished mid-reply it can
                // wait forever (seen in the cluster tests; nng issues #1543 and #1813): it runs on its
                // own thread, so neither the build nor the cooperative pool waits for that part.
                let socket = self.socket
                Thread.detachNewThread { socket.close() }
            }
        }
        if let f = state.withLock({ $0.failure }) { throw f }
    }

    private func loop(_ ctx: NNGContext) async {
        while true {
            let request: NNGContext.Request
            do { request = try await ctx.receive() } catch { return }
            switch handle(request) {
            case .send(let message):
                try? await ctx.send(OutgoingMessage(message))
            case .sendWritten(let message):
                try? await ctx.send(message)
            case .sendThenClose(let message):
                try? await ctx.send(OutgoingMessage(message))
                try? await Task.sleep(for: .milliseconds(100))
                socket.closePipe(request.pipe)
            case .close:
                socket.closePipe(request.pipe)
            }
        }
    }

    /// Lease expiry and liveness; true once serving should end.
    private func tick(alive: @Sendable () -> Bool) -> Bool {
        let now = Self.now()
        return state.withLock { st in
            // Checking a large result (or the disk) can hold both cooperative threads for a while,
            // with progress reports queued unread; that time is not the workers' silence.
            if let last = st.lastTick, now - last > 1 { st.board.postpone(by: now - last) }
            st.lastTick = now
            for s in st.board.expired(now: now) {
                var name = "?"
                if case .leased(let pipe, _, _) = st.board.slots[s] { name = st.peers[pipe]?.name ?? "?" }
                logger.warning("no progress from the worker within the lease; job handed out again",
                               metadata: ["worker": "\(name)", "job": "\(s)", "lease_s": "\(leaseSeconds)"])
                retry(&st, shard: s, reason: "worker \(name) showed no progress for \(leaseSeconds) s (cluster.lease_seconds)")
            }
            if st.failure == nil, !st.board.isComplete, !alive() {
                st.failure = .workersExited("\(st.board.doneCount) of \(shardCount * phases) jobs were done")
            }
            if st.board.isComplete || st.failure != nil { st.finished = true }
            return st.finished
        }
    }

    private func retry(_ st: inout State, shard: Int, reason: String) {
        st.retries += 1
        if !st.board.fail(shard: shard), st.failure == nil {
            st.failure = .shardFailed(shard: shard, attempts: st.board.failures[shard], reason: reason)
        }
    }

    private func disconnected(_ pipe: UInt32) {
        state.withLock { st in
            let name = st.peers[pipe]?.name ?? "?"
            st.peers[pipe] = nil
            // Its temporary file goes with the last reference.
            st.uploads[pipe] = nil
            for s in st.board.leases(of: pipe) {
                logger.warning("worker disconnected mid-job", metadata: ["worker": "\(name)", "shard": "\(s)"])
                retry(&st, shard: s, reason: "worker \(name) disconnected")
            }
        }
    }

    // MARK: requests

    func handle(_ request: NNGContext.Request) -> Reply {
        let message: WireMessage
        // nng already refused anything above the socket's cap (WireMessage.coordinatorSocketCap).
        do { message = try WireMessage.decode(request.bytes, largeCap: WireMessage.coordinatorReceiveCap) } catch {
            return refuse(request.pipe, "\(error)")
        }
        switch message {
        case .hello(let name):
            let nonce = Handshake.nonce()
            state.withLock { $0.peers[request.pipe] = Peer(name: name, challenge: nonce) }
            return .send(WireMessage.challenge(nonce: nonce))
        case .auth(let mac, let workerNonce):
            return authenticate(request.pipe, mac: mac, workerNonce: workerNonce)
        case .ready:
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "READY before authentication") }
            return next(for: request.pipe, peer: peer)
        case .resultChunk(let c):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "RESULT_CHUNK before authentication") }
            return received(c, from: request.pipe, peer: peer)
        case .result, .refined:
            return refuse(request.pipe, "a whole \(message.name) message (protocol \(WireMessage.version) sends results as RESULT_CHUNK messages)")
        case .failure(let shard, let attempt, let reason):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "FAILURE before authentication") }
            let job = jobNumber(shard)
            state.withLock { st in
                guard st.board.isCurrent(shard: job, attempt: attempt, pipe: request.pipe) else { return }
                logger.warning("worker could not do a job", metadata: ["worker": "\(peer.name)", "job": "\(job)", "reason": "\(reason)"])
                retry(&st, shard: job, reason: "worker \(peer.name): \(reason)")
            }
            return next(for: request.pipe, peer: peer)
        case .progress(let job, let attempt, let done, let total):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "PROGRESS before authentication") }
            return .send(progressed(jobNumber(job), attempt: attempt, done: done, total: total, pipe: request.pipe, peer: peer))
        case .challenge, .welcome, .reject, .job, .wait, .stop, .refine, .carryOn, .abandon, .chunkReceived:
            return refuse(request.pipe, "a \(message.name) message is never sent by a worker")
        }
    }

    /// The board's job for a shard number on the wire: a refinement carries the shard with the top bit set.
    private func jobNumber(_ wire: UInt32) -> Int {
        wire & 0x8000_0000 != 0 ? shardCount + Int(wire & 0x7FFF_FFFF) : Int(wire)
    }

    /// A worker's progress report: progress on the live lease moves its deadline on; a worker
    /// still going on a lapsed attempt gets the job back if nobody else took it, and keeps going
    /// if somebody did (its result is still wanted); a job already done is abandoned.
    private func progressed(_ job: Int, attempt: UInt32, done: UInt64, total: UInt64, pipe: UInt32, peer: Peer) -> WireMessage {
        let now = Self.now()
        return state.withLock { st -> WireMessage in
            guard !st.finished, st.failure == nil, st.board.isOpen(job) else { return .abandon }
            let last = st.reported[job]
            // A refinement does not count its work: reports show that its worker is alive.
            let advanced = total == 0 || last == nil || last?.attempt != attempt || done > last?.done ?? 0
            guard advanced else { return .carryOn(milliseconds: reportMilliseconds) }
            st.reported[job] = (attempt, done)
            let deadline = now + leaseSeconds
            if !st.board.extend(shard: job, attempt: attempt, pipe: pipe, deadline: deadline), st.holders[job]?.contains(pipe) == true,
               st.board.reclaim(shard: job, attempt: attempt, pipe: pipe, deadline: deadline) {
                logger.info("job taken back by the worker still building it", metadata: ["worker": "\(peer.name)", "job": "\(job)",
                                                                                        "attempt": "\(attempt)"])
            }
            return .carryOn(milliseconds: reportMilliseconds)
        }
    }

    private func refuse(_ pipe: UInt32, _ reason: String) -> Reply {
        let (name, greeted) = state.withLock { st in
            st.rejected += 1
            st.uploads[pipe] = nil
            return (st.peers[pipe]?.name ?? "unauthenticated peer", st.peers[pipe] != nil)
        }
        if !greeted && reason.hasSuffix("before authentication") {
            // A request on a connection that never said HELLO: a worker's socket resending what it
            // sent to the coordinator before this one started (--resume). Expected; the worker
            // reconnects and authenticates.
            logger.info("message from before this coordinator started; connection closed so the worker authenticates",
                        metadata: ["pipe": "\(pipe)", "reason": "\(reason)"])
            return .close
        }
        logger.warning("message rejected; connection closed", metadata: ["peer": "\(name)", "pipe": "\(pipe)", "reason": "\(reason)"])
        return .close
    }

    private func authenticated(_ pipe: UInt32) -> Peer? {
        state.withLock { st in st.peers[pipe].flatMap { $0.authenticated ? $0 : nil } }
    }

    private func authenticate(_ pipe: UInt32, mac: [UInt8], workerNonce: [UInt8]) -> Reply {
        let result: (Peer?, Bool) = state.withLock { st in
            guard var peer = st.peers[pipe], let challenge = peer.challenge else { return (nil, false) }
            peer.challenge = nil
            guard Handshake.verify(mac, token: token, role: "worker", nonce: challenge) else {
                st.peers[pipe] = peer
                st.rejected += 1
                return (peer, false)
            }
            peer.authenticated = true
            peer.workerID = st.nextWorkerID
            st.nextWorkerID += 1
            st.peers[pipe] = peer
            return (peer, true)
        }
        guard let peer = result.0 else { return refuse(pipe, "AUTH without a HELLO") }
        guard result.1 else {
            logger.warning("worker failed authentication; connection closed", metadata: ["peer": "\(peer.name)", "pipe": "\(pipe)"])
            return .sendThenClose(WireMessage.reject(reason: "authentication failed: the worker's token does not match the coordinator's"))
        }
        logger.info("worker joined", metadata: ["worker": "\(peer.name)", "id": "\(peer.workerID)"])
        let proof = Handshake.proof(token: token, role: "coordinator", nonce: workerNonce)
        return .send(WireMessage.welcome(mac: proof, workerID: peer.workerID, reportMilliseconds: reportMilliseconds))
    }

    /// The next JOB, a WAIT, or STOP for this connection.
    private func next(for pipe: UInt32, peer: Peer) -> Reply {
        let now = Self.now()
        let lease: (Int, UInt32)?? = state.withLock { st in
            if st.finished || st.board.isComplete || st.failure != nil { return .some(nil) }
            let S = shardCount
            let built = st.board.allDone(0..<S)
            guard let l = st.board.lease(to: pipe, now: now, leaseSeconds: leaseSeconds, available: { $0 < S || built }) else { return nil }
            st.holders[l.shard, default: []].insert(pipe)
            st.jobsByWorker[peer.name, default: 0] += 1
            return .some((l.shard, l.attempt))
        }
        switch lease {
        case .none: return .send(WireMessage.wait(milliseconds: 250))
        case .some(nil): return .send(WireMessage.stop)
        case .some(let l?):
            if l.0 < shardCount {
                logger.info("job leased", metadata: ["worker": "\(peer.name)", "shard": "\(l.0)", "attempt": "\(l.1)"])
                return .send(jobMessage(shard: l.0, attempt: l.1))
            }
            let s = l.0 - shardCount
            guard let message = refineMessage(shard: s, attempt: l.1, pipe: pipe) else { return .send(WireMessage.wait(milliseconds: 250)) }
            logger.info("refinement leased", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "attempt": "\(l.1)",
                                                        "mib": "\(String(format: "%.1f", Double(message.count) / 1_048_576))"])
            return .sendWritten(message)
        }
    }

    /// The phase-2 job of shard `s`: its graph and rows, the shards its boundary elements border, and the boundary.
    /// The message is written in place: each shipped shard's rows and labels are copied from the
    /// inputs and its graph read from the work folder straight into the outgoing message, so the
    /// coordinator holds a job's shards once (they were read into arrays, encoded and copied again).
    func refineMessage(shard s: Int, attempt: UInt32, pipe: UInt32) -> OutgoingMessage? {
        let boundary = plan.boundary[s]
        var needed = Set<UInt32>()
        for (_, ts) in boundary { needed.formUnion(ts) }
        let order = [s] + needed.map(Int.init).sorted()
        let held: Set<Int> = state.withLock { st in
            let held = st.peers[pipe]?.held ?? []
            // From now on the worker holds the shards of this job and no other (it drops the rest
            // when the job arrives, so it keeps a shard and its neighbours, not the whole index).
            st.peers[pipe]?.held = Set(order)
            return held
        }
        func failed(_ t: Int, _ error: any Error) -> OutgoingMessage? {
            state.withLock { $0.failure = .workFolder(path: work.path, reason: "cannot read back the result of shard \(t): \(error)") }
            return nil
        }
        // Shard graphs are kept in the work folder only, read when a job ships them.
        var graphs: [FileIO.Reader?] = []
        for t in order {
            if held.contains(t) {
                graphs.append(nil)
                continue
            }
            do { graphs.append(try work.graphReader(shard: t)) } catch { return failed(t, error) }
        }
        let shipped = order.map { t in
            ShippedShard(shard: UInt32(t), cached: held.contains(t), members: plan.shards[t].map { UInt32($0) }, labels: [], vectors: [], graph: [])
        }
        let p = parameters
        let spec = RefineSpec(shard: UInt32(s), attempt: attempt, space: p.space, dim: p.dim, M: p.M, efConstruction: p.efConstruction,
                              seed: p.seed, crossK: refine.crossK, crossEf: refine.crossEf, shards: shipped, boundary: boundary)
        func size(_ i: Int, _ part: ShippedPart) -> Int {
            let n = plan.shards[order[i]].count
            return switch part {
            case .labels: n * 8
            case .vectors: n * p.dim * 4
            case .graph: graphs[i]?.size ?? 0
            }
        }
        do {
            return try OutgoingMessage(count: WireMessage.refineCount(spec, size: size)) { buffer in
                try WireMessage.encodeRefine(spec, size: size, into: buffer) { i, part, dest in
                    switch part {
                    case .labels: inputs.writeLabels(of: order[i], into: dest)
                    case .vectors: inputs.writeRows(of: order[i], into: dest)
                    case .graph:
                        guard let graph = graphs[i], let base = dest.baseAddress else { return }
                        do { try graph.read(into: base, count: dest.count) } catch { throw ShardReadError(shard: order[i], error: error) }
                    }
                }
            }
        } catch let e as ShardReadError {
            return failed(e.shard, e.error)
        } catch {
            state.withLock { $0.failure = .transport("cannot allocate the refinement job of shard \(s): \(error)") }
            return nil
        }
    }

    private struct ShardReadError: Error {
        var shard: Int
        var error: any Error
    }

    func jobMessage(shard: Int, attempt: UInt32) -> WireMessage {
        let p = parameters
        return WireMessage.job(JobSpec(shard: UInt32(shard), attempt: attempt, space: p.space, dim: p.dim, M: p.M, efConstruction: p.efConstruction,
                                       seed: p.seed, batchSize: p.batchSize, labels: inputs.labels(of: shard),
                                       vectors: inputs.rows(of: shard)))
    }

    /// "shard s" or "the refinement of shard s", for messages.
    private func describe(_ job: Int) -> String {
        job < shardCount ? "shard \(job)" : "the refinement of shard \(job - shardCount)"
    }

    /// The most bytes job `job`'s result can take, and what that follows from.
    private func resultBound(_ job: Int) -> (bytes: UInt64, why: String) {
        if job < shardCount {
            return (inputs.graphBound(shard: job), "\(plan.shards[job].count) items at M \(parameters.M)")
        }
        let s = job - shardCount
        return (inputs.refinedBound(shard: s), "\(plan.boundary[s].count) boundary elements at M \(parameters.M)")
    }

    /// One chunk of a result. It is accepted only on a connection that was leased the job, for a
    /// job still open, in order, and (at offset 0) with a declared total within what the job's
    /// result can be, before anything is written; then it is appended to the result's temporary
    /// file in the work folder. The last chunk completes the result (`finish`).
    private func received(_ c: ResultChunk, from pipe: UInt32, peer: Peer) -> Reply {
        let job = jobNumber(c.job)
        guard job < shardCount * phases else {
            return refuse(pipe, "RESULT_CHUNK for job \(c.job & 0x7FFF_FFFF)\(c.job & 0x8000_0000 != 0 ? " (refinement)" : ""), which this build of \(shardCount) shards does not have")
        }
        let bound = c.offset == 0 ? resultBound(job) : nil
        let now = Self.now()
        enum Step { case stale, refused(String), failed(String), write(Upload) }
        let step: Step = state.withLock { st in
            guard !st.finished, st.failure == nil, st.board.isOpen(job) else {
                st.uploads[pipe] = nil
                return .stale
            }
            guard st.holders[job]?.contains(pipe) == true else {
                return .refused("RESULT_CHUNK for \(describe(job)) from a connection that was never leased that job")
            }
            let upload: Upload
            if let u = st.uploads[pipe] {
                guard u.job == job, u.attempt == c.attempt, u.total == c.total, u.checksum == c.checksum, u.micros == c.micros else {
                    return .refused("out-of-order RESULT_CHUNK for \(describe(job)) attempt \(c.attempt) while the result of \(describe(u.job)) attempt \(u.attempt) (\(u.total) bytes) is unfinished")
                }
                upload = u
            } else {
                guard c.offset == 0, let bound else {
                    return .refused("out-of-order RESULT_CHUNK for \(describe(job)): offset \(c.offset) starts no result (expected 0)")
                }
                guard c.total <= bound.bytes else {
                    return .refused("RESULT_CHUNK for \(describe(job)) declares a result of \(c.total) bytes, but that job's result can be at most \(bound.bytes) bytes (\(bound.why))")
                }
                let path = job < shardCount ? work.shardPath(job) : work.refinePath(job - shardCount)
                do {
                    upload = Upload(job: job, first: c, writer: try FileIO.AtomicWriter(path: path, tag: "upload-\(pipe)"))
                } catch {
                    return .failed("cannot write the result of \(describe(job)): \(error)")
                }
                st.uploads[pipe] = upload
            }
            // A result in transit shows its worker is alive, as a progress report does.
            let deadline = now + leaseSeconds
            if !st.board.extend(shard: job, attempt: c.attempt, pipe: pipe, deadline: deadline), st.holders[job]?.contains(pipe) == true,
               st.board.reclaim(shard: job, attempt: c.attempt, pipe: pipe, deadline: deadline) {
                logger.info("job taken back by the worker still building it", metadata: ["worker": "\(peer.name)", "job": "\(job)",
                                                                                        "attempt": "\(c.attempt)"])
            }
            return .write(upload)
        }
        switch step {
        case .stale:
            logger.info("result of a job already done dropped", metadata: ["worker": "\(peer.name)", "job": "\(job)", "attempt": "\(c.attempt)"])
            return .send(WireMessage.abandon)
        case .refused(let reason):
            return refuse(pipe, reason)
        case .failed(let reason):
            state.withLock { $0.failure = .workFolder(path: work.path, reason: reason) }
            return next(for: pipe, peer: peer)
        case .write(let u):
            let outcome = u.append(c)
            switch outcome {
            case .failure(.outOfOrder(let expected)):
                return refuse(pipe, "out-of-order RESULT_CHUNK for \(describe(job)): offset \(c.offset), expected \(expected)")
            case .failure(.io(let error)):
                state.withLock { st in
                    st.uploads[pipe] = nil
                    st.failure = .workFolder(path: work.path, reason: "cannot write the result of \(describe(job)): \(error)")
                }
                return next(for: pipe, peer: peer)
            case .success(let received) where received < u.total:
                return .send(WireMessage.chunkReceived(next: received))
            case .success:
                state.withLock { st in if st.uploads[pipe] === u { st.uploads[pipe] = nil } }
                return finish(u, from: pipe, peer: peer)
            }
        }
    }

    /// A result whose last chunk arrived: its checksum, then the same checks as ever (the graph
    /// assembled, the refinement validated); a valid one is moved into place in the work folder and
    /// kept, the next job is the reply. A worker that sends an invalid result is broken or hostile:
    /// its connection is closed and the job handed out again.
    private func finish(_ u: Upload, from pipe: UInt32, peer: Peer) -> Reply {
        let isBuild = u.job < shardCount
        let s = isBuild ? u.job : u.job - shardCount
        let bytes: [UInt8]
        do {
            bytes = try u.readBack()
        } catch {
            state.withLock { $0.failure = .workFolder(path: work.path, reason: "cannot read back the result of \(describe(u.job)): \(error)") }
            return next(for: pipe, peer: peer)
        }
        func invalid(_ problem: String) -> Reply {
            logger.warning(isBuild ? "invalid result; shard handed out again" : "invalid refinement; handed out again",
                           metadata: ["worker": "\(peer.name)", "shard": "\(s)", "reason": "\(problem)"])
            state.withLock { st in
                if st.board.isCurrent(shard: u.job, attempt: u.attempt, pipe: pipe) {
                    retry(&st, shard: u.job, reason: "\(isBuild ? "invalid result" : "invalid refinement"): \(problem)")
                }
            }
            return refuse(pipe, isBuild ? "invalid RESULT for shard \(s)" : "invalid REFINED for shard \(s)")
        }
        let (crc, transferSeconds) = u.written.withLock { ($0.crc, $0.transferSeconds) }
        guard crc == u.checksum else {
            return invalid("the result's CRC-32 is \(crc ?? 0), but its chunks declared \(u.checksum)")
        }
        var refined: RefineOutput?
        if isBuild {
            // Assembling checks every field; the graph itself is not kept (the merge reads the file).
            do { _ = try inputs.assemble(shard: s, bytes) } catch { return invalid("\(error)") }
        } else {
            let r: RefineResult
            do {
                guard case .refined(let decoded) = try WireMessage.decode(bytes, largeCap: bytes.count) else {
                    return invalid("the result of a refinement is not a REFINED message")
                }
                r = decoded
            } catch { return invalid("\(error)") }
            guard Int(r.shard) == s else { return invalid("a REFINED message for shard \(r.shard) sent as the refinement of shard \(s)") }
            if let problem = inputs.validate(r.output, shard: s) { return invalid(problem) }
            refined = r.output
        }
        do { try u.commit() } catch {
            state.withLock { $0.failure = .workFolder(path: work.path, reason: "cannot save the result of \(describe(u.job)): \(error)") }
            return next(for: pipe, peer: peer)
        }
        let seconds = Double(u.micros) * 1e-6
        let upload = String(format: "%.3f", transferSeconds)
        let (kept, done, total): (Bool, Int, Int) = state.withLock { st in
            // Results are deterministic and checked: one from a lapsed attempt is as good as any.
            guard st.board.isOpen(u.job) else { return (false, st.board.doneCount, shardCount * phases) }
            if !st.board.isCurrent(shard: u.job, attempt: u.attempt, pipe: pipe) { st.lateResults += 1 }
            st.board.complete(shard: u.job)
            st.jobsRun += 1
            if isBuild {
                st.peers[pipe]?.held.insert(s)
                st.buildSeconds[s] = seconds
            } else {
                st.refined.insert(s)
                st.refineSeconds[s] = seconds
            }
            return (true, st.board.doneCount, shardCount * phases)
        }
        if !kept {
            logger.info("result of a job already done dropped", metadata: ["worker": "\(peer.name)", "job": "\(u.job)", "attempt": "\(u.attempt)"])
        } else if isBuild {
            logger.info("shard done", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "build_s": "\(String(format: "%.2f", seconds))",
                                                 "bytes": "\(u.total)", "upload_s": "\(upload)", "done": "\(done)", "total": "\(total)"])
        } else {
            logger.info("shard refined", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "lists": "\(refined?.lists.count ?? 0)",
                                                    "offers": "\(refined?.offers.count ?? 0)", "refine_s": "\(String(format: "%.2f", seconds))",
                                                    "bytes": "\(u.total)", "upload_s": "\(upload)", "done": "\(done)", "total": "\(total)"])
        }
        if kept { progress?.update(done, total) }
        return next(for: pipe, peer: peer)
    }
}
