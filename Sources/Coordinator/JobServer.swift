import Foundation
import HNSW
import Logging
import Shared
import Synchronization

/// The coordinator's job server: REP contexts that authenticate workers and hand out shard jobs
/// (READY → JOB / WAIT / STOP, RESULT → the next of those). Results are checked, assembled into
/// shard graphs and kept in the work folder. A malformed message closes its connection only.
final class JobServer: @unchecked Sendable {
    enum Reply {
        case send([UInt8])
        case sendThenClose([UInt8])
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

    struct State {
        var board: JobBoard
        var peers: [UInt32: Peer] = [:]
        var graphs: [Int: HNSWIndex] = [:]
        /// Each shard graph as received (phase-2 jobs ship them on).
        var graphBytes: [Int: [UInt8]] = [:]
        var refined: [Int: RefineOutput] = [:]
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
    let largeCap: Int
    let work: WorkFolder
    let logger: Logger
    let progress: ProgressReporter?
    let refine: RefineSettings
    /// 2 when shard builds are followed by refinement jobs (S > 1), else 1. Job j < S builds shard j;
    /// job S + s refines shard s and is handed out once every shard is built.
    let phases: Int
    let state: Mutex<State>
    var shardCount: Int { plan.shards.count }

    init(socket: NNGSocket, token: [UInt8], inputs: ShardInputs, leaseSeconds: Double, largeCap: Int, work: WorkFolder, refine: RefineSettings,
         resumed: WorkFolder.Saved, resumedGraphs: [Int: HNSWIndex], logger: Logger, progress: ProgressReporter?) {
        self.socket = socket
        self.token = token
        self.inputs = inputs
        self.leaseSeconds = leaseSeconds
        self.largeCap = largeCap
        self.work = work
        self.logger = logger
        self.progress = progress
        self.refine = refine
        let S = inputs.plan.shards.count
        phases = S > 1 ? 2 : 1
        let done = Set(resumedGraphs.keys).union(phases == 2 ? Set(resumed.refined.keys.map { $0 + S }) : [])
        var st = State(board: JobBoard(shards: S * phases, done: done))
        st.graphs = resumedGraphs
        st.graphBytes = resumed.graphs.filter { resumedGraphs[$0.key] != nil }
        st.refined = phases == 2 ? resumed.refined : [:]
        state = Mutex(st)
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
                self.socket.close()
            }
        }
        if let f = state.withLock({ $0.failure }) { throw f }
    }

    private func loop(_ ctx: NNGContext) async {
        while true {
            let request: NNGContext.Request
            do { request = try await ctx.receive() } catch { return }
            switch handle(request) {
            case .send(let bytes):
                try? await ctx.send(bytes)
            case .sendThenClose(let bytes):
                try? await ctx.send(bytes)
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
            for s in st.board.leases(of: pipe) {
                logger.warning("worker disconnected mid-job", metadata: ["worker": "\(name)", "shard": "\(s)"])
                retry(&st, shard: s, reason: "worker \(name) disconnected")
            }
        }
    }

    // MARK: requests

    func handle(_ request: NNGContext.Request) -> Reply {
        let message: WireMessage
        do { message = try WireMessage.decode(request.bytes, largeCap: largeCap) } catch {
            return refuse(request.pipe, "\(error)")
        }
        switch message {
        case .hello(let name):
            let nonce = Handshake.nonce()
            state.withLock { $0.peers[request.pipe] = Peer(name: name, challenge: nonce) }
            return .send(WireMessage.challenge(nonce: nonce).encoded())
        case .auth(let mac, let workerNonce):
            return authenticate(request.pipe, mac: mac, workerNonce: workerNonce)
        case .ready:
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "READY before authentication") }
            return next(for: request.pipe, peer: peer)
        case .result(let r):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "RESULT before authentication") }
            // A worker that returns an invalid graph is broken or hostile: it gets no more work.
            guard accept(r, from: request.pipe, peer: peer) else { return refuse(request.pipe, "invalid RESULT for shard \(r.shard)") }
            return next(for: request.pipe, peer: peer)
        case .failure(let shard, let attempt, let reason):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "FAILURE before authentication") }
            let job = jobNumber(shard)
            state.withLock { st in
                guard st.board.isCurrent(shard: job, attempt: attempt, pipe: request.pipe) else { return }
                logger.warning("worker could not do a job", metadata: ["worker": "\(peer.name)", "job": "\(job)", "reason": "\(reason)"])
                retry(&st, shard: job, reason: "worker \(peer.name): \(reason)")
            }
            return next(for: request.pipe, peer: peer)
        case .refined(let r):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "REFINED before authentication") }
            guard acceptRefined(r, from: request.pipe, peer: peer) else { return refuse(request.pipe, "invalid REFINED for shard \(r.shard)") }
            return next(for: request.pipe, peer: peer)
        case .progress(let job, let attempt, let done, let total):
            guard let peer = authenticated(request.pipe) else { return refuse(request.pipe, "PROGRESS before authentication") }
            return .send(progressed(jobNumber(job), attempt: attempt, done: done, total: total, pipe: request.pipe, peer: peer).encoded())
        case .challenge, .welcome, .reject, .job, .wait, .stop, .refine, .carryOn, .abandon:
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
            if !st.board.extend(shard: job, attempt: attempt, pipe: pipe, deadline: deadline),
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
            return .sendThenClose(WireMessage.reject(reason: "authentication failed: the worker's token does not match the coordinator's").encoded())
        }
        logger.info("worker joined", metadata: ["worker": "\(peer.name)", "id": "\(peer.workerID)"])
        let proof = Handshake.proof(token: token, role: "coordinator", nonce: workerNonce)
        return .send(WireMessage.welcome(mac: proof, workerID: peer.workerID, reportMilliseconds: reportMilliseconds).encoded())
    }

    /// The next JOB, a WAIT, or STOP for this connection.
    private func next(for pipe: UInt32, peer: Peer) -> Reply {
        let now = Self.now()
        let lease: (Int, UInt32)?? = state.withLock { st in
            if st.finished || st.board.isComplete || st.failure != nil { return .some(nil) }
            let S = shardCount
            let built = st.board.allDone(0..<S)
            guard let l = st.board.lease(to: pipe, now: now, leaseSeconds: leaseSeconds, available: { $0 < S || built }) else { return nil }
            st.jobsByWorker[peer.name, default: 0] += 1
            return .some((l.shard, l.attempt))
        }
        switch lease {
        case .none: return .send(WireMessage.wait(milliseconds: 250).encoded())
        case .some(nil): return .send(WireMessage.stop.encoded())
        case .some(let l?):
            if l.0 < shardCount {
                logger.info("job leased", metadata: ["worker": "\(peer.name)", "shard": "\(l.0)", "attempt": "\(l.1)"])
                return .send(jobMessage(shard: l.0, attempt: l.1))
            }
            let s = l.0 - shardCount
            logger.info("refinement leased", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "attempt": "\(l.1)"])
            return .send(refineMessage(shard: s, attempt: l.1, pipe: pipe))
        }
    }

    /// The phase-2 job of shard `s`: its graph and rows, the shards its boundary elements border, and the boundary.
    func refineMessage(shard s: Int, attempt: UInt32, pipe: UInt32) -> [UInt8] {
        let boundary = plan.boundary[s]
        var needed = Set<UInt32>()
        for (_, ts) in boundary { needed.formUnion(ts) }
        let order = [s] + needed.map(Int.init).sorted()
        let (bytes, held): ([[UInt8]], Set<Int>) = state.withLock { st in
            let held = st.peers[pipe]?.held ?? []
            // From now on the worker holds every shard of this job.
            st.peers[pipe]?.held.formUnion(order)
            return (order.map { held.contains($0) ? [] : st.graphBytes[$0] ?? [] }, held)
        }
        let shipped = zip(order, bytes).map { t, graph -> ShippedShard in
            let members = plan.shards[t]
            if held.contains(t) {
                return ShippedShard(shard: UInt32(t), cached: true, members: members.map { UInt32($0) }, labels: [], vectors: [], graph: [])
            }
            return ShippedShard(shard: UInt32(t), members: members.map { UInt32($0) }, labels: inputs.labels(of: t), vectors: inputs.rows(of: t),
                                graph: graph)
        }
        let p = parameters
        return WireMessage.refine(RefineSpec(shard: UInt32(s), attempt: attempt, space: p.space, dim: p.dim, M: p.M, efConstruction: p.efConstruction,
                                             seed: p.seed, crossK: refine.crossK, crossEf: refine.crossEf, shards: shipped,
                                             boundary: boundary)).encoded()
    }

    /// Checks a refinement against its lease and the plan (only the shard's boundary elements, ids in
    /// range, caps, offers from those elements to other shards) and keeps it.
    private func acceptRefined(_ r: RefineResult, from pipe: UInt32, peer: Peer) -> Bool {
        let s = Int(r.shard)
        let job = shardCount + s
        // Refinements are deterministic and checked: one from a lapsed attempt is as good as any.
        guard s < shardCount, state.withLock({ $0.board.isOpen(job) }) else {
            logger.info("refinement of a job already done dropped", metadata: ["worker": "\(peer.name)", "shard": "\(r.shard)",
                                                                              "attempt": "\(r.attempt)"])
            return true
        }
        if let problem = inputs.validate(r.output, shard: s) {
            logger.warning("invalid refinement; handed out again", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "reason": "\(problem)"])
            state.withLock { st in
                if st.board.isCurrent(shard: job, attempt: r.attempt, pipe: pipe) { retry(&st, shard: job, reason: "invalid refinement: \(problem)") }
            }
            return false
        }
        do { try work.storeRefined(shard: s, message: WireMessage.refined(r).encoded()) } catch {
            state.withLock { $0.failure = .workFolder(path: work.path, reason: "cannot save the refinement of shard \(s): \(error)") }
            return true
        }
        let (done, total): (Int, Int) = state.withLock { st in
            if st.board.isOpen(job) {
                if !st.board.isCurrent(shard: job, attempt: r.attempt, pipe: pipe) { st.lateResults += 1 }
                st.board.complete(shard: job)
                st.refined[s] = r.output
                st.jobsRun += 1
                st.refineSeconds[s] = Double(r.micros) * 1e-6
            }
            return (st.board.doneCount, shardCount * phases)
        }
        logger.info("shard refined", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "lists": "\(r.output.lists.count)",
                                                "offers": "\(r.output.offers.count)", "refine_s": "\(String(format: "%.2f", Double(r.micros) * 1e-6))",
                                                "done": "\(done)", "total": "\(total)"])
        progress?.update(done, total)
        return true
    }

    func jobMessage(shard: Int, attempt: UInt32) -> [UInt8] {
        let p = parameters
        return WireMessage.job(JobSpec(shard: UInt32(shard), attempt: attempt, space: p.space, dim: p.dim, M: p.M, efConstruction: p.efConstruction,
                                       seed: p.seed, batchSize: p.batchSize, labels: inputs.labels(of: shard),
                                       vectors: inputs.rows(of: shard))).encoded()
    }

    /// Checks a result against its lease, assembles it (which validates every field) and keeps it.
    /// Returns false only for an invalid result (a stale one is dropped quietly).
    private func accept(_ r: ShardResult, from pipe: UInt32, peer: Peer) -> Bool {
        let s = Int(r.shard)
        // Shard graphs are deterministic and checked: a result from a lapsed attempt is as good as any.
        guard s < shardCount, state.withLock({ $0.board.isOpen(s) }) else {
            logger.info("result of a job already done dropped", metadata: ["worker": "\(peer.name)", "shard": "\(r.shard)",
                                                                          "attempt": "\(r.attempt)"])
            return true
        }
        let graph: HNSWIndex
        do {
            graph = try inputs.assemble(shard: s, r.graph)
        } catch {
            logger.warning("invalid result; shard handed out again", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "reason": "\(error)"])
            state.withLock { st in
                if st.board.isCurrent(shard: s, attempt: r.attempt, pipe: pipe) { retry(&st, shard: s, reason: "invalid result: \(error)") }
            }
            return false
        }
        do { try work.store(shard: s, graph: r.graph) } catch {
            state.withLock { $0.failure = .workFolder(path: work.path, reason: "cannot save shard \(s): \(error)") }
            return true
        }
        let (done, total): (Int, Int) = state.withLock { st in
            guard st.board.isOpen(s) else { return (st.board.doneCount, shardCount * phases) }
            if !st.board.isCurrent(shard: s, attempt: r.attempt, pipe: pipe) { st.lateResults += 1 }
            st.board.complete(shard: s)
            st.graphs[s] = graph
            st.graphBytes[s] = r.graph
            st.peers[pipe]?.held.insert(s)
            st.jobsRun += 1
            st.buildSeconds[s] = Double(r.buildMicros) * 1e-6
            return (st.board.doneCount, shardCount * phases)
        }
        logger.info("shard done", metadata: ["worker": "\(peer.name)", "shard": "\(s)", "build_s": "\(String(format: "%.2f", Double(r.buildMicros) * 1e-6))",
                                             "done": "\(done)", "total": "\(total)"])
        progress?.update(done, total)
        return true
    }
}
