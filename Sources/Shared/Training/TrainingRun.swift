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

/// What `trainer train` records about a run (`models/training_metadata.json`).
public struct TrainingMetadata: Codable, Sendable {
    public struct IndexParameters: Codable, Sendable {
        public var space: String
        public var M: Int
        public var efConstruction: Int
        public var seed: UInt64
        public var levelHistogram: [Int]
    }

    public var trainerVersion: String
    public var modelVersion: String
    public var dataVersion: String
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
    public var artifacts: [String: String]
    public var config: TrainerConfig
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
    }

    /// Builds the index of a full run from (rows, labels): in this process, or on a cluster.
    public typealias IndexBuilder = (UnsafeBufferPointer<Float>, [UInt64], Space, Int) throws -> (HNSWIndex, ClusterReport?)

    public static func run(config: TrainerConfig, threads: Int, logger: Logger, buildIndex: IndexBuilder? = nil) throws -> Summary {
        var timings: [String: Double] = [:]
        func timed<T>(_ phase: String, _ body: () throws -> T) rethrows -> T {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let r = try body()
            timings[phase] = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            logger.info("phase done", metadata: ["phase": "\(phase)", "seconds": "\(String(format: "%.3f", timings[phase]!))"])
            return r
        }
        let catalog = try timed("load") { try CatalogLoader.load(config: config) }
        let (pipeline, vectors, weights) = try timed("pipeline") { try FeaturePipeline.fit(catalog, config: config) }
        logger.info("vectorised", metadata: ["items": "\(catalog.count)", "dimension": "\(pipeline.dimension)"])
        guard let space = Space(rawValue: config.index.space) else { throw InputError("unknown space \(config.index.space)") }
        let labels = (0..<catalog.count).map(UInt64.init)
        let (index, clusterReport) = try timed("index") {
            try vectors.withUnsafeBufferPointer { rows in
                if let buildIndex { return try buildIndex(rows, labels, space, pipeline.dimension) }
                let index = try HNSWIndex(space: space, dim: pipeline.dimension, M: config.index.M,
                                          efConstruction: config.index.efConstruction, capacity: catalog.count,
                                          seed: UInt64(config.seed))
                let progress = ProgressReporter(phase: "index", logger: logger)
                try index.add(rows: rows, labels: labels, options: BuildOptions(threads: threads, progress: { progress.update($0, $1) }))
                return (index, nil)
            }
        }
        logger.info("index built", metadata: ["space": "\(space.rawValue)", "M": "\(config.index.M)",
                                              "ef_construction": "\(config.index.efConstruction)", "threads": "\(threads)",
                                              "peak_rss_mib": "\(peakRSS() >> 20)"])
        let needs = CatalogLoader.Needs(config: config)
        let state = ItemState(ids: catalog.ids, fingerprints: ItemState.fingerprints(catalog, columns: needs.all),
                              deleted: [Bool](repeating: false, count: catalog.count))
        try publish(Artifacts(state: state, vectors: vectors, weights: weights, pipeline: pipeline, index: index,
                              projector: (catalog, vectors, weights), parentModel: nil, changes: nil, cluster: clusterReport),
                    config: config, space: space, timings: &timings, logger: logger)
        return Summary(items: catalog.count, dimension: pipeline.dimension, folder: config.export.outputDir, timings: timings)
    }

    /// Everything a run leaves in the output folder.
    struct Artifacts {
        var state: ItemState
        /// One row per label (deleted labels keep their last vector).
        var vectors: [Float]
        var weights: [Double]
        var pipeline: FeaturePipeline
        var index: HNSWIndex
        /// The current catalog with its vectors, for the projector.
        var projector: (catalog: Catalog, vectors: [Float], weights: [Double])
        var parentModel: String?
        var changes: [String: Int]?
        var cluster: ClusterReport? = nil
    }

    /// Writes every artifact into a staging folder, then moves them into place together.
    static func publish(_ a: Artifacts, config: TrainerConfig, space: Space, timings: inout [String: Double], logger: Logger) throws {
        let folder = config.export.outputDir
        let staging = folder + "/.staging-\(getpid())"
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: folder, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ArtifactError(message: "\(folder): export.output_dir exists and is not a folder; nothing was written")
        }
        do {
            try fm.createDirectory(atPath: staging, withIntermediateDirectories: true)
        } catch {
            throw ArtifactError(message: "\(folder): cannot create the output folder (\((error as NSError).localizedDescription)); nothing was written")
        }
        do {
            let t0 = DispatchTime.now().uptimeNanoseconds
            try VectorExporter.write(folder: staging, ids: a.state.ids, vectors: a.vectors, dimension: a.pipeline.dimension,
                                     weights: a.weights, pipeline: a.pipeline)
            try FileIO.writeAtomically(a.state.tsv().utf8, to: staging + "/item_state.tsv")
            try a.index.save(to: staging + "/hnsw_index.bin")
            if config.export.tensorboard.enabled {
                let p = a.projector
                let points = try ProjectorExporter.write(folder: staging + "/tb_projector", catalog: p.catalog,
                                                         idColumn: config.input.idColumn, vectors: p.vectors,
                                                         dimension: a.pipeline.dimension, weights: p.weights,
                                                         config: config.export.tensorboard, seed: config.seed)
                if points < p.catalog.count {
                    logger.warning("projector sampled", metadata: ["points": "\(points)", "items": "\(p.catalog.count)",
                                                                   "max_points": "\(config.export.tensorboard.maxPoints)"])
                } else {
                    logger.info("projector written", metadata: ["points": "\(points)"])
                }
            }
            timings["write"] = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
            logger.info("phase done", metadata: ["phase": "write", "seconds": "\(String(format: "%.3f", timings["write"]!))"])
            let names = ["hnsw_index.bin", "labels.tsv", "vectors.npy", "item_weights.npy", "pipeline.json", "item_state.tsv"]
            var hashes: [String: String] = [:]
            for n in names { hashes[n] = try sha256(file: staging + "/" + n) }
            if config.export.tensorboard.enabled {
                for n in ["vectors.tsv", "metadata.tsv", "projector_config.pbtxt", "projector_config.json"] {
                    hashes["tb_projector/" + n] = try sha256(file: staging + "/tb_projector/" + n)
                }
            }
            var inputs: [String: String] = ["features": try sha256(file: config.input.features)]
            if let m = config.input.itemMetadata { inputs["item_metadata"] = try sha256(file: m) }
            let dataVersion = SHA256.hash(data: Data(inputs.sorted { $0.key < $1.key }.map { $0.value }.joined().utf8))
                .map { String(format: "%02x", $0) }.joined()
            let meta = TrainingMetadata(
                trainerVersion: trainerVersion, modelVersion: config.modelVersion, dataVersion: dataVersion, inputs: inputs,
                gitCommit: gitCommit(), seed: config.seed, itemCount: a.index.count - a.index.deletedCount,
                vectorDimension: a.pipeline.dimension, timingsSeconds: timings, peakRSSBytes: peakRSS(),
                index: .init(space: space.rawValue, M: config.index.M, efConstruction: a.index.efConstruction,
                             seed: UInt64(config.seed), levelHistogram: a.index.levelHistogram),
                parentModel: a.parentModel, cluster: a.cluster, changes: a.changes, artifacts: hashes, config: config)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try FileIO.writeAtomically(try enc.encode(meta), to: staging + "/training_metadata.json")
            // Everything exists: move it into place. The old files are set aside first and put back
            // if any move fails, so the folder never mixes artifacts of two runs.
            let backup = staging + "/previous"
            try fm.createDirectory(atPath: backup, withIntermediateDirectories: true)
            var moved: [String] = []
            var setAside: [String] = []
            func rollBack() {
                for n in moved { rename(folder + "/" + n, staging + "/" + n) }
                for n in setAside { rename(backup + "/" + n, folder + "/" + n) }
            }
            for n in names + ["training_metadata.json"] {
                let target = folder + "/" + n
                if fm.fileExists(atPath: target) {
                    guard rename(target, backup + "/" + n) == 0 else {
                        let reason = String(cString: strerror(errno))
                        rollBack()
                        throw ArtifactError(message: "\(target): cannot replace the previous artifact (\(reason)); the previous artifacts are untouched")
                    }
                    setAside.append(n)
                }
                guard rename(staging + "/" + n, target) == 0 else {
                    let reason = String(cString: strerror(errno))
                    rollBack()
                    throw ArtifactError(message: "\(target): cannot move the new artifact into place (\(reason)); the previous artifacts are untouched")
                }
                moved.append(n)
            }
            if config.export.tensorboard.enabled {
                let target = folder + "/tb_projector", old = folder + "/.tb_projector-old-\(getpid())"
                let hadOld = fm.fileExists(atPath: target)
                if hadOld { guard rename(target, old) == 0 else { throw InputError("\(target): cannot replace the projector folder") } }
                guard rename(staging + "/tb_projector", target) == 0 else { throw InputError("\(target): cannot move the projector folder into place") }
                if hadOld { try? fm.removeItem(atPath: old) }
            }
            try? fm.removeItem(atPath: staging)
        } catch let e as InputError {
            try? fm.removeItem(atPath: staging)
            throw ArtifactError(message: e.message)
        } catch let e as ArtifactError {
            try? fm.removeItem(atPath: staging)
            throw e
        } catch {
            try? fm.removeItem(atPath: staging)
            throw ArtifactError(message: "\(folder): writing the artifacts failed: \(error); the previous artifacts are untouched")
        }
    }

    static func sha256(file path: String) throws -> String {
        guard let h = FileHandle(forReadingAtPath: path) else { throw InputError("\(path): cannot open to compute its checksum") }
        defer { try? h.close() }
        var hasher = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    static func gitCommit() -> String {
        if let c = ProcessInfo.processInfo.environment["GIT_COMMIT"], !c.isEmpty { return c }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git", "rev-parse", "HEAD"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = Pipe()
        do {
            try p.run()
            p.waitUntilExit()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            return p.terminationStatus == 0 && !text.isEmpty ? text : "unknown"
        } catch {
            return "unknown"
        }
    }

    /// Peak resident set size (Linux VmHWM), in bytes.
    public static func peakRSS() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
        }
        return 0
    }
}
