import ArgumentParser
import Coordinator
import Foundation
import HNSW
import Logging
import Shared

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "The whole single-node run: catalog → feature pipeline → HNSW index → artifacts in export.output_dir.")

    @Option(help: "Configuration file.") var config: String = "config/trainer.yml"
    @Flag(help: "Update the saved model in export.output_dir instead of retraining: add new items, update changed ones, delete missing ones.")
    var incremental = false
    @OptionGroup var cluster: ClusterOptions

    func run() throws {
        var cfg: TrainerConfig
        do { cfg = try TrainerConfig.load(path: config) } catch let e as ConfigError { throw CLIError.usage("\(e)") }
        if incremental, cluster.workers != nil || cluster.listen != nil || cluster.resume {
            throw CLIError.usage("--incremental updates the saved index in this process; drop --workers, --listen and --resume")
        }
        let mode = clusterMode(cfg)
        if !incremental {
            // The metadata records the configuration the run used, so the command line's overrides
            // go into it: re-running the recorded configuration rebuilds the same model.
            cfg.cluster.mode = mode
            if let w = cluster.workers { cfg.cluster.workers = w }
            if let s = cluster.shards { cfg.cluster.shards = s }
            if let l = cluster.listen { cfg.cluster.listen = l }
            if let f = cluster.tokenFile { cfg.cluster.tokenFile = f }
        }
        do { try cfg.checkPaths(path: config, incremental: incremental, cluster: !incremental && mode != "single") }
        catch let e as ConfigError { throw CLIError.usage("\(e)") } catch let e as InputError { throw CLIError.input(e.message) }
        let threads = resolveThreads(cfg.index.threads)
        var handler: RunLogHandler
        do { handler = try RunLogHandler(folder: cfg.export.logDir) } catch { throw CLIError.runtime(error.message) }
        handler.echoErrors = false
        let configured = handler
        let logger = Logger(label: "trainer") { _ in configured }
        logger.info("run started", metadata: ["config": "\(config)", "seed": "\(cfg.seed)", "model_version": "\(cfg.modelVersion)"])
        let builder = incremental ? nil : try clusterBuilder(cfg, mode: mode, threads: threads, logger: logger)
        let summary: TrainingRun.Summary
        do {
            summary = incremental ? try TrainingRun.runIncremental(config: cfg, threads: threads, logger: logger)
                                  : try TrainingRun.run(config: cfg, threads: threads, logger: logger, cluster: builder)
        } catch {
            // Into the log file; the terminal gets the one `error:` line from Trainer.main.
            logger.error("run failed", metadata: ["error": "\(Trainer.outcome(of: error).1)"])
            throw error
        }
        logger.info("run finished", metadata: ["items": "\(summary.items)", "dimension": "\(summary.dimension)",
                                               "peak_rss_mib": "\(TrainingRun.peakRSS() >> 20)"])
        let t = summary.timings
        if incremental {
            print("updated the model in \(summary.folder)/ to \(RunReport.counted(summary.items, "item")) (\(summary.dimension)-d vectors, saved pipeline)")
        } else {
            print("trained \(RunReport.counted(summary.items, "item")) into \(summary.dimension)-d vectors; artifacts in \(summary.folder)/")
        }
        // Phases in run order, only those the run had (an incremental run fits no pipeline).
        print("  " + RunReport.orderedTimings(t).map { "\($0.0) " + String(format: "%.2f s", $0.1) }.joined(separator: ", "))
        if let q = summary.quality {
            print("  recall@\(q.k) \(String(format: "%.4f", q.recallAtEfSearch)) at ef_search \(q.efSearch) (\(RunReport.counted(q.sampleSize, "sampled item")))"
                  + (q.drift?.drift.map { String(format: "; drift %.4f against the previous model", $0) } ?? ""))
        }
        let written = TrainingRun.artifactNames.filter { FileManager.default.fileExists(atPath: summary.folder + "/" + $0) }
        print("  \(summary.folder)/" + written.map { $0 == "tb_projector" ? "tb_projector/" : $0 }.joined(separator: ", "))
    }

    /// single, local or cluster: the configuration's mode unless --workers or --listen says otherwise.
    func clusterMode(_ cfg: TrainerConfig) -> String {
        if cluster.listen != nil { return "cluster" }
        if cluster.workers != nil { return "local" }
        return cfg.cluster.mode
    }

    /// The cluster index build for this run, or nil for a build in this process.
    func clusterBuilder(_ cfg: TrainerConfig, mode: String, threads: Int, logger: Logger) throws -> TrainingRun.ClusterIndexBuild? {
        if mode == "single" {
            guard cluster.shards == nil, !cluster.resume else {
                throw CLIError.usage("--shards and --resume need a cluster build: set cluster.mode or give --workers or --listen")
            }
            return nil
        }
        let workers = cluster.workers ?? cfg.cluster.workers
        let perWorker = cfg.cluster.workerThreads > 0 ? cfg.cluster.workerThreads : max(1, threads / workers)
        let settings = ClusterSettings(
            mode: mode == "local" ? .local(workers: workers, executable: trainerExecutable(), threadsPerWorker: perWorker)
                                  : .listen(url: cluster.listen ?? cfg.cluster.listen),
            shards: cluster.shards ?? cfg.cluster.shards, tokenEnv: cfg.cluster.tokenEnv, tokenFile: cluster.tokenFile ?? cfg.cluster.tokenFile,
            tls: TLSSettings(certFile: cfg.cluster.tlsCert, keyFile: cfg.cluster.tlsKey),
            workFolder: cfg.cluster.workDir ?? cfg.export.outputDir + "/cluster-work", resume: cluster.resume,
            leaseSeconds: cfg.cluster.leaseSeconds, mergeThreads: threads,
            refine: RefineSettings(epsilon: cfg.cluster.refineEpsilon, maxCross: cfg.cluster.refineMaxShards, crossK: cfg.cluster.refineK,
                                   crossEf: cfg.cluster.refineEf))
        let seed = UInt64(cfg.seed), M = cfg.index.M, efc = cfg.index.efConstruction
        return TrainingRun.ClusterIndexBuild(shards: settings.shards, source: cluster.shards != nil ? "command line" : config,
                                             shardsKey: cluster.shards != nil ? "--shards" : "cluster.shards") { rows, rowsFile, labels, space, dim in
            do {
                return try ClusterBuild.run(rows: &rows, rowsFile: rowsFile, labels: labels,
                                            parameters: IndexParameters(space: space, dim: dim, M: M, efConstruction: efc, seed: seed),
                                            settings: settings, logger: logger)
            } catch { throw clusterError(error) }
        }
    }
}
