import Foundation
import HNSW
import Logging
import Shared

/// How a cluster build runs.
public struct ClusterSettings: Sendable {
    public enum Mode: Sendable, Equatable {
        /// `workers` child processes of `executable` over ipc://, each with `threadsPerWorker` threads.
        case local(workers: Int, executable: String, threadsPerWorker: Int)
        /// Listen on `url` for workers started elsewhere (`trainer worker --connect`).
        case listen(url: String)
    }

    public var mode: Mode
    /// Resolved against the catalog's size when the build starts.
    public var shards: ShardCount
    /// The environment variable holding the shared token.
    public var tokenEnv: String
    /// A file holding the token; takes precedence over `tokenEnv`.
    public var tokenFile: String?
    public var tls: TLSSettings?
    public var workFolder: String
    public var resume: Bool
    public var leaseSeconds: Double
    /// Threads of the coordinator's own merge.
    public var mergeThreads: Int
    public var refine: RefineSettings
    /// Cap of a job message (what the coordinator sends). What it receives is capped at
    /// `WireMessage.coordinatorReceiveCap`: results arrive in chunks.
    public var maxMessageBytes: Int

    public init(mode: Mode, shards: ShardCount, tokenEnv: String = "TRAINER_CLUSTER_TOKEN", tokenFile: String? = nil, tls: TLSSettings? = nil,
                workFolder: String,
                resume: Bool = false, leaseSeconds: Double = 60, mergeThreads: Int = 1, refine: RefineSettings = RefineSettings(),
                maxMessageBytes: Int = WireMessage.defaultLargeCap) {
        self.mode = mode
        self.shards = shards
        self.tokenEnv = tokenEnv
        self.tokenFile = tokenFile
        self.tls = tls
        self.workFolder = workFolder
        self.resume = resume
        self.leaseSeconds = leaseSeconds
        self.mergeThreads = mergeThreads
        self.refine = refine
        self.maxMessageBytes = maxMessageBytes
    }
}

/// The cluster build: plan the shards, serve them to workers, merge the returned graphs.
/// The result depends only on the rows, labels, parameters and shard count.
public enum ClusterBuild {
    /// Builds the index of `rows` (row-major, `parameters.dim` floats each) on the cluster. With
    /// `rowsFile` (a float32 `.npy` file of the same rows), `rows` is emptied before the merge, which
    /// reads the vectors back from the file: the coordinator then holds them once, in the index.
    public static func run(rows: inout [Float], rowsFile: String? = nil, labels: [UInt64], parameters: IndexParameters,
                           settings: ClusterSettings, logger: Logger) throws -> (HNSWIndex, ClusterReport) {
        let cpuStart = processCPUSeconds()
        let served = try rows.withUnsafeBufferPointer {
            try serve(rows: $0, labels: labels, parameters: parameters, settings: settings, logger: logger)
        }
        return try merge(served, rows: &rows, rowsFile: rowsFile, labels: labels, parameters: parameters, settings: settings,
                         cpuStart: cpuStart, logger: logger)
    }

    /// What the serving phase leaves for the merge: every shard built (and refined), in the work folder.
    struct Served {
        var plan: ShardPlan
        var work: WorkFolder
        var state: JobServer.State
        var workerCount: Int
        var resumedShards: Int
        var resumedRefinements: Int
        var planSeconds: Double
        var serveSeconds: Double
    }

    /// Plans the shards and serves their jobs until every shard is built and refined.
    static func serve(rows: UnsafeBufferPointer<Float>, labels: [UInt64], parameters: IndexParameters, settings: ClusterSettings,
                      logger: Logger) throws -> Served {
        let n = labels.count
        let shardCount = settings.shards.resolve(items: n, M: parameters.M)
        guard ShardLimits.count.contains(shardCount) else { throw CoordinatorError.invalidSettings("shards must be ≥ 1, got \(shardCount)") }
        if let why = ShardLimits.tooMany(shards: shardCount, items: n, M: parameters.M) {
            throw CoordinatorError.invalidSettings("shards \(why)")
        }
        let planStart = Date()
        let plan = ShardPlan.make(rows: rows, labels: labels, shards: shardCount, parameters: parameters, refine: settings.refine,
                                  threads: settings.mergeThreads)
        let planSeconds = Date().timeIntervalSince(planStart)
        for (s, members) in plan.shards.enumerated() {
            let bytes = WireMessage.headerSize + 45 + members.count * (8 + 4 * parameters.dim)
            if bytes > settings.maxMessageBytes { throw CoordinatorError.shardTooLarge(shard: s, bytes: bytes, cap: settings.maxMessageBytes) }
        }
        logger.info("cluster plan", metadata: ["shards": "\(shardCount)", "items": "\(n)", "parameters": "\(parameters)",
                                               "sizes": "\(plan.shards.map(\.count).map(String.init).joined(separator: ","))",
                                               "boundary_elements": "\(plan.boundaryCount)", "refinement": "\(settings.refine)",
                                               "plan_s": "\(String(format: "%.2f", planSeconds))", "fingerprint": "\(plan.fingerprint.prefix(16))"])
        if case .local(let w, _, _) = settings.mode, w > shardCount {
            // A small catalog gets one shard per 500,000 items under `auto`: say why a worker sits idle.
            logger.warning("more local workers than shards; starting one per shard",
                           metadata: ["workers": "\(w)", "shards": "\(shardCount)",
                                      "hint": "shards: auto makes one per \(ShardLimits.targetItemsPerShard) items; set cluster.shards (or --shards) to at least \(w) to use every worker (the index depends on the shard count)"])
        }

        // Token: local mode makes one for its own children when none is set.
        let tokenString: String
        switch settings.mode {
        case .local:
            if let file = settings.tokenFile {
                tokenString = String(decoding: try Handshake.token(fromFile: file), as: UTF8.self)
            } else {
                tokenString = ProcessInfo.processInfo.environment[settings.tokenEnv].flatMap { $0.isEmpty ? nil : $0 } ?? Handshake.randomToken()
            }
        case .listen:
            tokenString = String(decoding: try Handshake.token(file: settings.tokenFile, variable: settings.tokenEnv), as: UTF8.self)
        }
        let token = Array(tokenString.utf8)
        guard token.count >= Handshake.minimumTokenBytes else { throw HandshakeError.shortToken(variable: settings.tokenEnv, bytes: token.count) }

        let work = WorkFolder(path: settings.workFolder)
        // The coordinator receives only control messages and result chunks, so a peer (one that has
        // not authenticated included) can make it hold at most this much per connection: nng
        // allocates a message when its header arrives, and closes a connection that declares more.
        let socket: NNGSocket
        do { socket = try NNGSocket(.reply, maxMessageBytes: WireMessage.coordinatorSocketCap) } catch { throw CoordinatorError.transport("\(error)") }
        defer { socket.close() }

        var saved = WorkFolder.Saved()
        var resumed = Set<Int>()
        let inputs = ShardInputs(plan: plan, rows: rows, labels: labels, parameters: parameters)
        if settings.resume {
            saved = try work.resume(plan, largeCap: settings.maxMessageBytes)
            for (s, bytes) in saved.graphs.sorted(by: { $0.key < $1.key }) {
                do {
                    _ = try inputs.assemble(shard: s, bytes)
                    resumed.insert(s)
                } catch {
                    logger.warning("a saved shard result is damaged; it will be rebuilt", metadata: ["shard": "\(s)", "reason": "\(error)"])
                    work.discard(shard: s)
                    saved.graphs[s] = nil
                }
            }
            saved.graphs = [:]  // checked; the files stay in the work folder for the jobs and the merge
            // Each refinement is decoded and checked here, then read again by the merge: none is held.
            saved.refined = saved.refined.filter { s in
                guard let r = try? work.refinement(shard: s, largeCap: settings.maxMessageBytes) else { return false }
                return inputs.validate(r, shard: s) == nil
            }
            logger.info("resuming", metadata: ["shards_kept": "\(resumed.count)", "refinements_kept": "\(saved.refined.count)"])
        } else {
            try work.start(plan)
        }

        let url: String
        var local: LocalWorkers?
        switch settings.mode {
        case .local:
            url = "ipc://" + work.socketPath()
        case .listen(let u):
            url = u
        }
        do { try socket.listen(url, tls: settings.tls) } catch { throw CoordinatorError.transport("\(error)") }
        defer { if url.hasPrefix("ipc://") { unlink(String(url.dropFirst(6))) } }
        logger.info("coordinator listening", metadata: ["url": "\(url)"])

        let progress = ProgressReporter(phase: "cluster", unit: "jobs", logger: logger)
        let server = JobServer(socket: socket, token: token, inputs: inputs,
                               leaseSeconds: settings.leaseSeconds, work: work,
                               refine: settings.refine, resumed: saved, resumedShards: resumed, logger: logger, progress: progress)
        var workerCount = 0
        if case .local(let w, let exe, let t) = settings.mode {
            // A worker beyond the shard count would never get a job.
            let count = min(w, shardCount)
            local = try LocalWorkers(count: count, executable: exe, url: url, threads: t, tokenEnv: settings.tokenEnv, token: tokenString, logger: logger)
            workerCount = count
        }
        defer { local?.stop() }
        let cleanup = url.hasPrefix("ipc://") ? TerminationCleanup(socketPath: String(url.dropFirst(6)), workerPIDs: local?.pids ?? []) : nil
        defer { cleanup?.cancel() }

        let started = Date()
        let box = ResultBox()
        let done = DispatchSemaphore(value: 0)
        let workers = local
        let liveness: @Sendable () -> Bool = { workers?.anyAlive ?? true }
        let contexts = max(4, workerCount + 2)
        let drain = local == nil ? 2.0 : 0.5
        Task.detached {
            do { try await server.serve(contexts: contexts, drainSeconds: drain, alive: liveness) } catch { box.error = error }
            done.signal()
        }
        done.wait()
        local?.stop(grace: 2)
        local = nil
        if let e = box.error { throw e }
        let serveSeconds = Date().timeIntervalSince(started)
        let st = server.state.withLock { $0 }
        guard st.board.allDone(0..<shardCount) else {
            throw CoordinatorError.transport("the build ended with shards missing")
        }
        return Served(plan: plan, work: work, state: st, workerCount: workerCount, resumedShards: resumed.count,
                      resumedRefinements: saved.refined.count, planSeconds: planSeconds, serveSeconds: serveSeconds)
    }

    /// Merges the shard graphs and refinements, read back from the work folder one shard at a time,
    /// and removes the work folder.
    static func merge(_ served: Served, rows: inout [Float], rowsFile: String?, labels: [UInt64], parameters: IndexParameters,
                      settings: ClusterSettings, cpuStart: Double, logger: Logger) throws -> (HNSWIndex, ClusterReport) {
        let (plan, work, st) = (served.plan, served.work, served.state)
        let shardCount = plan.shards.count
        var workerCount = served.workerCount
        logger.info("merging shard graphs", metadata: ["shards": "\(shardCount)", "threads": "\(settings.mergeThreads)"])
        func merged(_ source: some RowSource) throws -> (HNSWIndex, MergeReport) {
            try HNSWIndex.merge(space: parameters.space, dim: parameters.dim, M: parameters.M, efConstruction: parameters.efConstruction,
                                seed: parameters.seed, rows: source, labels: labels, shards: plan.shards,
                                options: MergeOptions(threads: settings.mergeThreads, upperEf: Self.upperEf(parameters)),
                                graph: { try work.graphReader(shard: $0) },
                                refinement: { s in
                                    guard shardCount > 1, st.refined.contains(s) else { return nil }
                                    return try work.refinement(shard: s, largeCap: settings.maxMessageBytes)
                                })
        }
        let (index, mergeReport): (HNSWIndex, MergeReport)
        if let rowsFile {
            rows = []
            (index, mergeReport) = try merged(NPY.RowStream(path: rowsFile, rows: labels.count, cols: parameters.dim))
        } else {
            (index, mergeReport) = try rows.withUnsafeBufferPointer { try merged(RowCursor($0, dim: parameters.dim)) }
        }
        work.remove()
        if workerCount == 0 { workerCount = st.jobsByWorker.count }
        var report = ClusterReport()
        if case .local = settings.mode { report.mode = "local" } else { report.mode = "cluster" }
        report.shards = shardCount
        report.shardSizes = plan.shards.map(\.count)
        report.centroids = plan.centroids
        report.planFingerprint = plan.fingerprint
        report.refinement = "\(settings.refine)"
        report.boundaryElements = plan.boundaryCount
        report.workers = workerCount
        report.jobsRun = st.jobsRun
        report.resumedJobs = served.resumedShards + (shardCount > 1 ? served.resumedRefinements : 0)
        report.retries = st.retries
        report.lateResults = st.lateResults
        report.rejectedMessages = st.rejected
        report.jobsPerWorker = st.jobsByWorker
        report.shardBuildSeconds = (0..<shardCount).map { st.buildSeconds[$0] ?? 0 }
        report.refineSeconds = shardCount > 1 ? (0..<shardCount).map { st.refineSeconds[$0] ?? 0 } : []
        report.planSeconds = served.planSeconds
        report.serveSeconds = served.serveSeconds
        report.mergeLevelZeroSeconds = mergeReport.levelZeroSeconds
        report.mergeUpperSeconds = mergeReport.upperSeconds
        report.mergeRepairSeconds = mergeReport.repairSeconds
        report.reverseOffers = mergeReport.reverseOffers
        report.orphansRepaired = mergeReport.orphansRepaired
        report.coordinatorCPUSeconds = processCPUSeconds() - cpuStart
        logger.info("cluster build done", metadata: [
            "jobs_run": "\(st.jobsRun)", "resumed": "\(report.resumedJobs)", "retries": "\(st.retries)", "rejected_messages": "\(st.rejected)",
            "jobs_per_worker": "\(st.jobsByWorker.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
            "serve_s": "\(String(format: "%.2f", served.serveSeconds))",
            "merge_s": "\(String(format: "%.2f", mergeReport.levelZeroSeconds + mergeReport.upperSeconds + mergeReport.repairSeconds))",
            "orphans_repaired": "\(mergeReport.orphansRepaired)"])
        return (index, report)
    }
}

extension ClusterBuild {
    /// The upper layers' beam: max(4·M, ef_construction / 4). At 200k × 64, S = 16 (M 16, efC 200) a
    /// beam of 64 instead of 200 left recall unchanged (0.4047 / 0.5888 at ef 64 / 128 against
    /// 0.4048 / 0.5882) and cut the coordinator's CPU from 3.5 to 3.1 s.
    static func upperEf(_ p: IndexParameters) -> Int { max(4 * p.M, p.efConstruction / 4) }
}

/// User + system CPU seconds of this process (not of its children).
func processCPUSeconds() -> Double {
    var u = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &u)
    return Double(u.ru_utime.tv_sec) + Double(u.ru_utime.tv_usec) * 1e-6 + Double(u.ru_stime.tv_sec) + Double(u.ru_stime.tv_usec) * 1e-6
}

private final class ResultBox: @unchecked Sendable {
    var error: (any Error)?
}
