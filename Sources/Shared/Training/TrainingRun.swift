import CBuildInfo
import Crypto
import Dispatch
import Foundation
import HNSW
import Logging

/// Artifacts could not be written (exit code 1); names the path and the reason.
public struct ArtifactError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// What `trainer train` records about a run (`models/training_metadata.json`). Keys are snake_case,
/// as in the configuration file; docs/training_metadata.schema.json documents each one.
public struct TrainingMetadata: Codable, Sendable {
    public struct IndexParameters: Codable, Sendable {
        public var space: String
        public var M: Int
        public var efConstruction: Int
        /// The ef Stage 3 should set with `set_ef` (hnswlib does not store ef in the file).
        public var efSearch: Int
        public var seed: UInt64
        public var levelHistogram: [Int]

        enum CodingKeys: String, CodingKey {
            case space, M, efConstruction = "ef_construction", efSearch = "ef_search", seed, levelHistogram = "level_histogram"
        }
    }

    public var trainerVersion: String
    public var modelVersion: String
    public var dataVersion: String
    /// UTC start of the run, ISO 8601.
    public var startedAt: String
    public var inputs: [String: String]
    public var gitCommit: String
    public var seed: Int
    public var itemCount: Int
    public var vectorDimension: Int
    public var timingsSeconds: [String: Double]
    public var peakRSSBytes: Int
    public var index: IndexParameters
    public var parentModel: String?
    /// The shard plan, timings, per-worker jobs and retries of a cluster build; nil for a single-process build.
    public var cluster: ClusterReport?
    /// For incremental runs: how many items were added, updated and deleted.
    public var changes: [String: Int]?
    /// Recall, column statistics, similarities, graph health and drift; nil only in metadata
    /// written before the quality report existed.
    public var quality: QualityReport?
    public var artifacts: [String: String]
    /// The effective configuration in the configuration file's shape (every key, defaults filled in).
    public var config: ConfigValue

    enum CodingKeys: String, CodingKey {
        case trainerVersion = "trainer_version", modelVersion = "model_version", dataVersion = "data_version",
             startedAt = "started_at", inputs, gitCommit = "git_commit", seed, itemCount = "item_count",
             vectorDimension = "vector_dimension", timingsSeconds = "timings_seconds", peakRSSBytes = "peak_rss_bytes",
             index, parentModel = "parent_model", cluster, changes, quality, artifacts, config
    }
}

/// The single-node training run: catalog → pipeline → index → artifacts. Every artifact is written
/// into a staging folder first and moved into place only when all of them exist, so a failed run
/// leaves the previous good artifacts untouched.
public enum TrainingRun {
    public static let trainerVersion = "0.4.0"

    public struct Summary: Sendable {
        public var items: Int
        public var dimension: Int
        public var folder: String
        public var timings: [String: Double]
        /// The run's quality section, as written to the metadata.
        public var quality: QualityReport?
    }

    /// Builds the index of a full run from (rows, the staged `.npy` file of the same rows when there
    /// is one, labels, space, dimension): in this process, or on a cluster. The builder may empty
    /// `rows` and read them back from the file, so the vectors are held once.
    public typealias IndexBuilder = (inout [Float], String?, [UInt64], Space, Int) throws -> (HNSWIndex, ClusterReport?)

    /// A cluster build of the index: its shard count (checked against the catalog as soon as it is
    /// loaded, naming `shardsKey`) and the builder.
    public struct ClusterIndexBuild {
        public var shards: ShardCount
        /// Where the shard count came from, for errors: the configuration file or "command line",
        /// and its key or flag.
        public var source: String
        public var shardsKey: String
        public var build: IndexBuilder
        public init(shards: ShardCount, source: String, shardsKey: String, build: @escaping IndexBuilder) {
            self.shards = shards
            self.source = source
            self.shardsKey = shardsKey
            self.build = build
        }
    }

    public static func run(config: TrainerConfig, threads: Int, logger: Logger, cluster: ClusterIndexBuild? = nil) throws -> Summary {
        let buildIndex = cluster?.build
        let startedAt = Date()
        try Staging.recoverAbandoned(in: config.export.outputDir, logger: logger)
        var timings: [String: Double] = [:]
        func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try body()
            timings[phase] = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            logger.info("phase done", metadata: ["phase": "\(phase)", "seconds": "\(String(format: "%.3f", timings[phase] ?? 0))"])
            return r
        }
        // The catalog lives only inside this closure: what the rest of the run needs from it (ids,
        // fingerprints, the projector's points) is taken out first, so the index is built without it.
        var (pipeline, vectors, weights, state, projector) = try { () throws -> (FeaturePipeline, [Float], [Double], ItemState, ProjectorExporter.Points?) in
            let catalog = try timed("load") { try CatalogLoader.load(config: config) }
            for w in catalog.warnings { logger.warning("input", metadata: ["warning": "\(w)"]) }
            if let cluster, case .fixed(let shards) = cluster.shards,
               let why = ShardLimits.tooMany(shards: shards, items: catalog.count, M: config.index.M) {
                throw ConfigError(path: cluster.source, key: cluster.shardsKey, message: why)
            }
            let (pipeline, vectors, weights) = try timed("pipeline") { try FeaturePipeline.fit(catalog, config: config) }
            logger.info("vectorised", metadata: ["items": "\(catalog.count)", "dimension": "\(pipeline.dimension)"])
            let needs = CatalogLoader.Needs(config: config)
            let state = ItemState(ids: catalog.ids, fingerprints: ItemState.fingerprints(catalog, columns: needs.featureInputs),
                                  deleted: [Bool](repeating: false, count: catalog.count))
            let t = config.export.tensorboard
            let projector = t.enabled ? try ProjectorExporter.points(catalog: catalog, idColumn: config.input.idColumn, config: t, seed: config.seed) : nil
            return (pipeline, vectors, weights, state, projector)
        }()
        ProcessMemory.returnFreedMemory()
        guard let space = Space(rawValue: config.index.space) else { throw InputError("unknown space \(config.index.space)") }
        let count = state.ids.count
        let labels = (0..<count).map(UInt64.init)
        // What comes from the raw vectors is written and measured now, so the index build can take
        // the vectors over and the run holds them once.
        let staging = try Staging(folder: config.export.outputDir)
        defer { staging.discard() }
        let staged = try stage(staging, state: state, vectors: vectors, weights: weights, pipeline: pipeline, projector: projector,
                               config: config, logger: logger)
        weights = []
        let (index, clusterReport) = try timed("index") { () throws -> (HNSWIndex, ClusterReport?) in
            if let buildIndex {
                defer { vectors = [] }
                return try buildIndex(&vectors, staged.rowsFile, labels, space, pipeline.dimension)
            }
            let index = try HNSWIndex(space: space, dim: pipeline.dimension, M: config.index.M,
                                      efConstruction: config.index.efConstruction, capacity: count,
                                      seed: UInt64(config.seed))
            let progress = ProgressReporter(phase: "index", logger: logger)
            let options = BuildOptions(threads: threads, progress: { progress.update($0, $1) })
            if let file = staged.rowsFile {
                // The index reads the rows back from the staged vectors.npy, so they are in memory once.
                vectors = []
                try index.add(labels: labels, reading: NPY.RowStream(path: file, rows: count, cols: pipeline.dimension), options: options)
            } else {
                try vectors.withUnsafeBufferPointer { try index.add(rows: $0, labels: labels, options: options) }
            }
            return (index, nil)
        }
        logger.info("index built", metadata: ["space": "\(space.rawValue)", "M": "\(config.index.M)",
                                              "ef_construction": "\(config.index.efConstruction)", "threads": "\(threads)",
                                              "peak_rss_mib": "\(peakRSS() >> 20)"])
        let quality = try publish(Artifacts(state: state, pipeline: pipeline, index: index, staged: staged, parentModel: nil,
                                            changes: nil, cluster: clusterReport),
                                  into: staging, config: config, space: space, startedAt: startedAt, timings: &timings,
                                  threads: threads, logger: logger)
        return Summary(items: count, dimension: pipeline.dimension, folder: config.export.outputDir, timings: timings,
                       quality: quality)
    }

    /// The run's staging folder, `.staging-PID` in the output folder: every artifact is written there
    /// first and moved into place by `commit`. `discard` removes it, and the output folder too when
    /// this run created it and nothing else is in it, so a failed run leaves the folder as it was.
    struct Staging {
        let folder: String
        let path: String
        let createdFolder: Bool
        /// Marks a staging folder as the trainer's: only folders carrying it are ever cleaned up.
        static let markerName = ".trainer-staging"
        /// Written by `commit` once every previous artifact is set aside, before the first new one moves in.
        static let movingName = ".moving-in"

        /// Creates the staging folder (and the output folder when missing). Runs call
        /// `recoverAbandoned` first, before they read anything from the folder.
        init(folder: String) throws {
            let fm = FileManager.default
            var isDirectory: ObjCBool = false
            let exists = fm.fileExists(atPath: folder, isDirectory: &isDirectory)
            if exists, !isDirectory.boolValue {
                throw ArtifactError(message: "\(folder): export.output_dir exists and is not a folder; nothing was written")
            }
            self.folder = folder
            path = folder + "/.staging-\(getpid())"
            createdFolder = !exists
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true)
                try FileIO.writeAtomically(Array("routing-candidates trainer staging folder\n".utf8), to: path + "/" + Self.markerName)
            } catch {
                // Foundation's error text names its own domain and code; the underlying reason is what helps.
                let reason = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
                    ?? "\(error)"
                throw ArtifactError(message: "\(folder): cannot create the staging folder (\(reason)); nothing was written")
            }
        }

        func discard() {
            try? FileManager.default.removeItem(atPath: path)
            if createdFolder { rmdir(folder) }
        }

        /// The staging folders of runs whose process is gone (killed during the build or the
        /// commit), recognised by their marker. A run killed while it moved its artifacts in leaves
        /// the output folder mixing two runs: the previous run's artifacts, set aside in
        /// `previous/`, are put back (and the killed run's own removed), unless every new artifact
        /// had already moved in (the metadata, moved last, is no longer in the staging folder).
        static func recoverAbandoned(in folder: String, logger: Logger) throws {
            let fm = FileManager.default
            guard let names = try? fm.contentsOfDirectory(atPath: folder) else { return }
            for name in names.sorted() where name.hasPrefix(".staging-") {
                let staging = folder + "/" + name
                // The trainer's: it carries the marker, or a run was killed while it wrote the marker.
                let entries = (try? fm.contentsOfDirectory(atPath: staging)) ?? ["?"]
                let ours = entries.contains(markerName) || entries.allSatisfy { $0.hasPrefix(markerName + ".tmp-") }
                guard let pid = Int32(name.dropFirst(".staging-".count)), pid > 0, pid != getpid(), ours,
                      kill(pid, 0) == -1, errno == ESRCH else { continue }
                let backup = staging + "/previous"
                let movingIn = fm.fileExists(atPath: staging + "/" + movingName)
                let finished = movingIn && !fm.fileExists(atPath: staging + "/training_metadata.json")
                let setAside = artifactNames.filter { fm.fileExists(atPath: backup + "/" + $0) }
                if !finished && (movingIn || !setAside.isEmpty) {
                    if movingIn {
                        // Once moving in began, every artifact in the folder is the killed run's.
                        for n in artifactNames where fm.fileExists(atPath: folder + "/" + n) { try? fm.removeItem(atPath: folder + "/" + n) }
                    }
                    for n in setAside where rename(backup + "/" + n, folder + "/" + n) != 0 {
                        throw ArtifactError(message: "\(backup)/\(n): cannot restore the previous artifact set aside by an interrupted run (\(String(cString: strerror(errno)))); move it into \(folder) by hand, nothing else was changed")
                    }
                    logger.warning("interrupted run rolled back", metadata: [
                        "folder": "\(folder)", "pid": "\(pid)", "restored": "\(setAside.joined(separator: ","))",
                        "reason": "a run killed while it moved its artifacts in left the folder mixing two runs; the previous run's artifacts are back"])
                }
                try? fm.removeItem(atPath: staging)
            }
        }
    }

    /// What `stage` wrote and measured from the raw vectors.
    struct Staged {
        var facts: QualityMeasure.VectorFacts
        var writeSeconds: Double
        /// The staged vectors.npy (nil with `export.numpy: false`).
        var rowsFile: String?
    }

    /// Writes the artifacts made from the raw vectors (labels.tsv, the `.npy` files, pipeline.json
    /// and the projector) into the staging folder, and measures what the quality report needs of
    /// them. `vectors` and `weights` hold one row per label (deleted labels keep their last vector).
    static func stage(_ staging: Staging, state: ItemState, vectors: [Float], weights: [Double], pipeline: FeaturePipeline,
                      projector: ProjectorExporter.Points?, config: TrainerConfig, logger: Logger) throws -> Staged {
        let t0 = DispatchTime.now().uptimeNanoseconds
        do {
            try VectorExporter.write(folder: staging.path, ids: state.ids, vectors: vectors, dimension: pipeline.dimension,
                                     weights: weights, pipeline: pipeline, numpy: config.export.numpy)
            if let p = projector {
                let points = try ProjectorExporter.write(folder: staging.path + "/tb_projector", points: p, vectors: vectors,
                                                         dimension: pipeline.dimension, weights: weights,
                                                         config: config.export.tensorboard)
                let shown = state.deleted.count { !$0 }
                if points < shown {
                    logger.warning("projector sampled", metadata: ["points": "\(points)", "items": "\(shown)",
                                                                   "max_points": "\(config.export.tensorboard.maxPoints)"])
                } else {
                    logger.info("projector written", metadata: ["points": "\(points)"])
                }
            }
        } catch let e as ArtifactError {
            throw e
        } catch {
            throw ArtifactError(message: "\(staging.folder): writing the artifacts failed: \(error); the previous artifacts are untouched")
        }
        let t1 = DispatchTime.now().uptimeNanoseconds
        let facts = QualityMeasure.vectorFacts(vectors: vectors, dim: pipeline.dimension, ids: state.ids, deleted: state.deleted,
                                               columns: pipeline.outputColumns, sampleSize: config.quality.sampleSize, seed: config.seed)
        return Staged(facts: facts, writeSeconds: Double(t1 - t0) * 1e-9,
                      rowsFile: config.export.numpy ? staging.path + "/vectors.npy" : nil)
    }

    /// What the rest of a run leaves in the output folder, once `stage` has written the artifacts
    /// made from the vectors.
    struct Artifacts {
        var state: ItemState
        var pipeline: FeaturePipeline
        var index: HNSWIndex
        var staged: Staged
        var parentModel: String?
        var changes: [String: Int]?
        var cluster: ClusterReport? = nil
    }

    /// Every name the trainer owns in the output folder, in the order they are committed (the
    /// metadata last). A run replaces all of them or none: names it does not produce this time (the
    /// projector when disabled, the `.npy` files with `export.numpy: false`) are removed with the rest.
    public static let artifactNames = ["hnsw_index.bin", "labels.tsv", "vectors.npy", "item_weights.npy", "pipeline.json",
                                "item_state.tsv", "quality_sample.tsv", "tb_projector", "report.html", "training_metadata.json"]
    /// Rendered from the metadata after it is written, so it has no checksum in it (and
    /// `trainer report` may rebuild it).
    public static let reportName = "report.html"
    static let projectorFiles = ["vectors.tsv", "metadata.tsv", "projector_config.pbtxt", "projector_config.json"]

    /// Measures the run's quality, writes the remaining artifacts into the staging folder, then moves
    /// them all into place together. Returns the quality section written to the metadata.
    static func publish(_ a: Artifacts, into staging: Staging, config: TrainerConfig, space: Space, startedAt: Date,
                        timings: inout [String: Double], threads: Int, logger: Logger) throws -> QualityReport {
        let folder = config.export.outputDir
        let fm = FileManager.default
        // Quality before the rest is staged: a run over its drift limit stops with the folder as it was.
        let (quality, sampled) = try measureQuality(a, config: config, space: space, threads: threads, timings: &timings, logger: logger)
        let staging = staging.path
        do {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try a.state.write(to: staging + "/item_state.tsv")
            try FileIO.writeAtomically(QualityMeasure.tsv(sampled).utf8, to: staging + "/quality_sample.tsv")
            try a.index.save(to: staging + "/hnsw_index.bin")
            timings["write"] = a.staged.writeSeconds + Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            logger.info("phase done", metadata: ["phase": "write", "seconds": "\(String(format: "%.3f", timings["write"] ?? 0))"])
            var hashes: [String: String] = [:]
            for n in artifactNames where n != "tb_projector" && n != reportName && fm.fileExists(atPath: staging + "/" + n) {
                hashes[n] = try sha256(file: staging + "/" + n)
            }
            if config.export.tensorboard.enabled {
                for n in projectorFiles { hashes["tb_projector/" + n] = try sha256(file: staging + "/tb_projector/" + n) }
            }
            var inputs: [String: String] = ["features": try sha256(file: config.input.features)]
            if let m = config.input.itemMetadata { inputs["item_metadata"] = try sha256(file: m) }
            let dataVersion = SHA256.hash(data: Data(inputs.sorted { $0.key < $1.key }.map { $0.value }.joined().utf8))
                .map { String(format: "%02x", $0) }.joined()
            let stamp = ISO8601DateFormatter()
            stamp.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let meta = TrainingMetadata(
                trainerVersion: trainerVersion, modelVersion: config.modelVersion, dataVersion: dataVersion,
                startedAt: stamp.string(from: startedAt), inputs: inputs,
                gitCommit: gitCommit, seed: config.seed, itemCount: a.index.count - a.index.deletedCount,
                vectorDimension: a.pipeline.dimension, timingsSeconds: timings, peakRSSBytes: peakRSS(),
                index: .init(space: space.rawValue, M: config.index.M, efConstruction: a.index.efConstruction,
                             efSearch: config.index.efSearch, seed: UInt64(config.seed), levelHistogram: a.index.levelHistogram),
                parentModel: a.parentModel, cluster: a.cluster, changes: a.changes, quality: quality, artifacts: hashes,
                config: config.effective)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileIO.writeAtomically(try enc.encode(meta), to: staging + "/training_metadata.json")
            try FileIO.writeAtomically(RunReport.html(meta).utf8, to: staging + "/" + reportName)
        } catch let e as ArtifactError {
            throw e
        } catch {
            throw ArtifactError(message: "\(folder): writing the artifacts failed: \(error); the previous artifacts are untouched")
        }
        try commit(staging: staging, into: folder)
        return quality
    }

    /// Measures the run's quality and its drift against the model still in the output folder, logs
    /// both, and throws `QualityGateError` when the drift exceeds `quality.max_drift`.
    static func measureQuality(_ a: Artifacts, config: TrainerConfig, space: Space, threads: Int, timings: inout [String: Double],
                               logger: Logger) throws -> (QualityReport, [SampledItem]) {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let measured = try QualityMeasure.measure(
            facts: a.staged.facts, ids: a.state.ids, deleted: a.state.deleted, index: a.index, space: space,
            quality: config.quality, efSearch: config.index.efSearch, seed: config.seed, threads: threads)
        var quality = measured.report
        let sampled = measured.sample
        let t1 = DispatchTime.now().uptimeNanoseconds
        quality.drift = QualityMeasure.drift(folder: config.export.outputDir, current: quality, sample: sampled, state: a.state,
                                             maxDrift: config.quality.maxDrift)
        let t2 = DispatchTime.now().uptimeNanoseconds
        timings["quality"] = Double(t2 - t0) * 1e-9
        var steps = Logger.Metadata()
        for (name, seconds) in measured.stepSeconds + [("drift", Double(t2 - t1) * 1e-9)] {
            steps[name + "_seconds"] = "\(String(format: "%.3f", seconds))"
        }
        logger.info("quality steps", metadata: steps)
        logger.info("phase done", metadata: ["phase": "quality", "seconds": "\(String(format: "%.3f", timings["quality"] ?? 0))"])
        let median = QualityReport.quantileLevels.firstIndex(of: 0.5).map { quality.similarity.quantiles[$0] } ?? 0
        logger.info("quality", metadata: [
            "sample": "\(quality.sampleSize)", "recall_at_ef_search": "\(String(format: "%.4f", quality.recallAtEfSearch))",
            "ef_search": "\(quality.efSearch)",
            "recall": "\(quality.recall.map { "\($0.ef):\(String(format: "%.4f", $0.recall))" }.joined(separator: ","))",
            "ef_for_recall_0_95": "\(quality.efForRecall95.map(String.init) ?? "none")",
            "ef_for_recall_0_99": "\(quality.efForRecall99.map(String.init) ?? "none")",
            "similarity_median": "\(String(format: "%.4f", median))", "duplicate_share": "\(String(format: "%.4f", quality.duplicateShare))",
            "zero_variance_columns": "\(quality.zeroVarianceColumns.count)",
            "reachable_share": "\(String(format: "%.4f", quality.graph.reachableShare))",
        ])
        if !quality.zeroVarianceColumns.isEmpty {
            logger.warning("zero-variance columns", metadata: ["columns": "\(quality.zeroVarianceColumns.joined(separator: ","))"])
        }
        for warning in quality.graphWarnings() { logger.warning("graph", metadata: ["problem": "\(warning)"]) }
        if let d = quality.drift {
            var meta: Logger.Metadata = ["added": "\(d.added)", "changed": "\(d.changed)", "removed": "\(d.removed)",
                                         "compared": "\(d.comparedItems)"]
            if let mo = d.meanOverlap, let dr = d.drift {
                meta["mean_overlap"] = "\(String(format: "%.4f", mo))"
                meta["drift"] = "\(String(format: "%.4f", dr))"
            }
            if let note = d.note { meta["note"] = "\(note)" }
            logger.info("drift", metadata: meta)
            if d.drift != nil, d.comparedItems < QualityReport.Drift.preciseFrom, d.comparedItems < quality.sampleSize {
                // Few items shared with the previous sample: each moves the figure by 1/(10·compared).
                logger.warning("drift rests on few items", metadata: [
                    "compared": "\(d.comparedItems)", "sample": "\(quality.sampleSize)",
                    "reason": "only \(d.comparedItems) of this run's sampled items were sampled by the previous run"])
            }
            if let limit = config.quality.maxDrift {
                if let dr = d.drift {
                    if dr > limit {
                        let shown = QualityReport.Drift.distinct(dr, from: limit)
                        let items = RunReport.counted(d.comparedItems, "sampled item")
                        throw QualityGateError(message: "\(config.export.outputDir): drift \(shown) (1 − mean top-\(quality.k) neighbour overlap of \(items) against the previous model) exceeds quality.max_drift \(limit); nothing was committed, the previous artifacts are untouched")
                    }
                } else {
                    logger.warning("drift not measured", metadata: ["max_drift": "\(limit)", "reason": "\(d.note ?? "no sampled item to compare")"])
                }
            }
        } else if let limit = config.quality.maxDrift {
            logger.warning("drift not measured", metadata: [
                "max_drift": "\(limit)",
                "reason": "\(config.export.outputDir) holds no previous model, so quality.max_drift applies from the next run"])
        }
        return (quality, sampled)
    }

    /// Moves every staged artifact into place: first every previous artifact is set aside (also
    /// those this run does not produce), then the new ones move in, the metadata last. A failed move
    /// puts everything back, so the folder never mixes two runs; a run killed in between is rolled
    /// back by the next (`Staging.recoverAbandoned`), which tells the phases apart by `movingName`.
    static func commit(staging: String, into folder: String) throws {
        let fm = FileManager.default
        let backup = staging + "/previous"
        do { try fm.createDirectory(atPath: backup, withIntermediateDirectories: true) } catch {
            throw ArtifactError(message: "\(backup): cannot create (\(error)); the previous artifacts are untouched")
        }
        var moved: [String] = []
        var setAside: [String] = []
        func rollBack() {
            for n in moved.reversed() { rename(folder + "/" + n, staging + "/" + n) }
            for n in setAside.reversed() { rename(backup + "/" + n, folder + "/" + n) }
        }
        // Moves `n` from one folder to another, or puts everything back and says what failed.
        func move(_ n: String, from: String, to: String, failure: String) throws {
            guard rename(from + "/" + n, to + "/" + n) == 0 else {
                let reason = String(cString: strerror(errno))
                rollBack()
                throw ArtifactError(message: "\(folder)/\(n): cannot \(failure) (\(reason)); the previous artifacts are untouched")
            }
        }
        for n in artifactNames where fm.fileExists(atPath: folder + "/" + n) {
            try move(n, from: folder, to: backup, failure: "replace the previous artifact")
            setAside.append(n)
        }
        do { try FileIO.writeAtomically([UInt8](), to: staging + "/" + Staging.movingName) } catch {
            rollBack()
            throw ArtifactError(message: "\(staging): cannot record the commit's progress (\(error)); the previous artifacts are untouched")
        }
        for n in artifactNames where fm.fileExists(atPath: staging + "/" + n) {
            try move(n, from: staging, to: folder, failure: "move the new artifact into place")
            moved.append(n)
        }
    }

    static func sha256(file path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw InputError("\(path): cannot open to compute its checksum") }
        defer { try? h.close() }
        var hasher = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// The commit this binary was built from, embedded by the build (see the README).
    static var gitCommit: String { String(cString: trainer_git_commit()) }

    /// Peak resident set size (Linux VmHWM), in bytes.
    public static func peakRSS() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
        }
        return 0
    }
}
