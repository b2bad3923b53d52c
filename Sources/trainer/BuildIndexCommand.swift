import ArgumentParser
import Coordinator
import Foundation
import HNSW
import Logging
import Shared

struct BuildIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-index",
        abstract: "Builds an HNSW index from a float32 .npy matrix; row i gets label i.")

    @Option(help: "Input vectors (.npy, float32, shape (N, D)).") var vectors: String
    @Option(help: "Output index file (hnswlib v0.8.0 format).") var out: String = "models/hnsw_index.bin"
    @Option(help: "Distance space: cosine, ip or l2.") var space: Space = .cosine
    @Option(name: .customShort("M"), parsing: .unconditional, help: "Links per node (2·M on layer 0).") var m: Int = 32
    @Option(name: .customLong("ef-construction"), parsing: .unconditional, help: "Beam width while building.") var efConstruction: Int = 200
    @Option(parsing: .unconditional, help: "Build threads (0 = all cores).") var threads: Int = 0
    @Option(parsing: .unconditional, help: "Level seed.") var seed: UInt64 = 42
    @Option(name: .customLong("batch-size"), help: "Largest insertion batch; part of the output's identity.")
    var batchSize: Int = 128
    @Option(help: ArgumentHelp("How the file numbers the elements: bfs (for locality) or build (as built); for benchmarks.",
                               visibility: .hidden))
    var layout: FileLayout = .locality
    @Flag(help: "Print one JSON object instead of text.") var json = false
    @OptionGroup var cluster: ClusterOptions
    @Option(name: .customLong("work-dir"), help: "Cluster work folder (default: <out>.work).") var workDir: String?
    @Option(name: .customLong("token-env"), help: "Environment variable holding the cluster token.") var tokenEnv = "TRAINER_CLUSTER_TOKEN"
    @Option(name: .customLong("tls-cert"), help: "PEM certificate for a tls+tcp:// --listen address.") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM private key for a tls+tcp:// --listen address.") var tlsKey: String?
    @Option(name: .customLong("max-message-mib"), parsing: .unconditional, help: "Cap of a job or result message, in MiB.") var maxMessageMiB: Int = 1024
    @Option(name: .customLong("refine-epsilon"), help: "Refine elements whose other centroids are within (1 + ε) of their own.")
    var refineEpsilon: Double = RefineSettings().epsilon
    @Option(name: .customLong("refine-max-shards"), parsing: .unconditional, help: "Other shards searched per refined element.") var refineMaxShards = RefineSettings().maxCross
    @Option(name: .customLong("refine-k"), parsing: .unconditional, help: "Candidates kept from each cross-shard search.") var refineK = RefineSettings().crossK
    @Option(name: .customLong("refine-ef"), parsing: .unconditional, help: "Beam width of each cross-shard search.") var refineEf = RefineSettings().crossEf
    @Option(name: .customLong("lease-seconds"), parsing: .unconditional, help: "Seconds a worker holding a job may go without showing progress before the job is handed to another.") var leaseSeconds: Double = 60

    func validate() throws {
        for (value, range, flag) in [(m, ParameterLimits.M, "-M"), (efConstruction, ParameterLimits.efConstruction, "--ef-construction"),
                                     (batchSize, ParameterLimits.batchSize, "--batch-size"), (refineK, RefineLimits.k, "--refine-k"),
                                     (refineEf, RefineLimits.ef, "--refine-ef"), (refineMaxShards, RefineLimits.maxShardsSetting, "--refine-max-shards"),
                                     (maxMessageMiB, 1...4095, "--max-message-mib")] where !range.contains(value) {
            throw ValidationError("\(flag) must be in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
        guard threads >= 0 else { throw ValidationError("--threads must be ≥ 0, got \(threads)") }
        guard refineEpsilon >= 0, refineEpsilon.isFinite else { throw ValidationError("--refine-epsilon must be ≥ 0, got \(refineEpsilon)") }
        guard leaseSeconds > 0, leaseSeconds.isFinite else { throw ValidationError("--lease-seconds must be > 0, got \(leaseSeconds)") }
    }

    func run() throws {
        let t0 = now()
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), isDirectory.boolValue {
            throw CLIError.usage("--out \(out) is a folder; name the index file, for example \(out)/hnsw_index.bin")
        }
        if cluster.workers != nil || cluster.listen != nil {
            do { try PathChecks.workFolder(workDir ?? out + ".work", key: workDir == nil ? "--out (its .work folder)" : "--work-dir", config: "command line") }
            catch { throw CLIError.usage("\(error)") }
        }
        let x = try readVectors(vectors, flag: "--vectors")
        try checkFinite(x, path: vectors)
        let t1 = now()
        let n = x.rows
        let t = resolveThreads(threads)
        let labels = (0..<n).map { UInt64($0) }
        let index: HNSWIndex
        var report: ClusterReport?
        if cluster.workers != nil || cluster.listen != nil {
            if case .fixed(let s)? = cluster.shards, let why = ShardLimits.tooMany(shards: s, items: x.rows, M: m) {
                throw CLIError.usage("--shards \(why) (\(vectors))")
            }
            let workers = cluster.workers ?? 0
            let settings = ClusterSettings(
                mode: cluster.listen.map { .listen(url: $0) }
                    ?? .local(workers: workers, executable: trainerExecutable(), threadsPerWorker: max(1, t / workers)),
                shards: cluster.shards ?? .automatic, tokenEnv: tokenEnv, tokenFile: cluster.tokenFile,
                tls: TLSSettings(certFile: tlsCert, keyFile: tlsKey), workFolder: workDir ?? out + ".work", resume: cluster.resume,
                leaseSeconds: leaseSeconds, mergeThreads: t,
                refine: RefineSettings(epsilon: refineEpsilon, maxCross: refineMaxShards, crossK: refineK, crossEf: refineEf),
                maxMessageBytes: maxMessageMiB << 20)
            let handler = RunLogHandler()
            let logger = Logger(label: "coordinator") { _ in handler }
            do {
                var rows = x.values
                (index, report) = try ClusterBuild.run(rows: &rows, labels: labels,
                                                       parameters: IndexParameters(space: space, dim: x.cols, M: m, efConstruction: efConstruction,
                                                                                   seed: seed, batchSize: batchSize),
                                                       settings: settings, logger: logger)
            } catch { throw clusterError(error) }
        } else {
            guard cluster.shards == nil, !cluster.resume else { throw CLIError.usage("--shards and --resume need --workers or --listen") }
            index = try HNSWIndex(space: space, dim: x.cols, M: m, efConstruction: efConstruction, capacity: n, seed: seed)
            try x.values.withUnsafeBufferPointer { rows in
                try index.add(rows: rows, labels: labels, options: BuildOptions(threads: t, batchSize: batchSize))
            }
        }
        let t2 = now()
        let dir = (out as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do { try index.save(to: out, layout: layout) } catch let e as HNSWError { throw CLIError.runtime("\(e)") }
        let t3 = now()
        let build = t2 - t1
        if json {
            var clusterJSON = "null"
            if let report, let data = try? JSONEncoder().encode(report) { clusterJSON = String(decoding: data, as: UTF8.self) }
            print("{\"n\": \(n), \"dim\": \(x.cols), \"threads\": \(t), \"load_s\": \(t1 - t0), \"build_s\": \(build), \"save_s\": \(t3 - t2), \"peak_rss\": \(peakRSS()), \"isa\": \"\(Distance.isa)\", \"cluster\": \(clusterJSON)}")
        } else {
            if let r = report {
                print("cluster build: \(RunReport.counted(r.shards, "shard")) (\(RunReport.counted(r.boundaryElements, "boundary element")) refined) on \(RunReport.counted(r.workers, "worker")) (\(r.mode)), \(RunReport.counted(r.jobsRun, "job")), \(r.resumedJobs) resumed, \(RunReport.counted(r.retries, "retry", "retries"))")
            }
            print("built \(n) × \(x.cols) \(space.rawValue) index (M \(m), ef_construction \(efConstruction), \(t) threads, \(Distance.isa) kernels)")
            print(String(format: "build %.2f s (%.0f inserts/s), load %.2f s, save %.2f s, peak RSS %.0f MiB → %@",
                         build, Double(n) / max(build, 1e-9), t1 - t0, t3 - t2, Double(peakRSS()) / 1_048_576, out))
        }
    }
}
