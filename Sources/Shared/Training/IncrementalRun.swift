import Dispatch
import Foundation
import HNSW
import Logging

/// The saved model and the configuration disagree: an incremental run is impossible (exit code 2).
public struct ModelMismatch: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

extension TrainingRun {
    /// Updates the saved model with the current inputs: new ids are vectorised with the saved pipeline
    /// (not refitted) and added with the next labels, changed items are updated in place, and ids gone
    /// from the input are marked deleted (when `incremental.delete_missing`).
    public static func runIncremental(config: TrainerConfig, threads: Int, logger: Logger) throws -> Summary {
        let startedAt = Date()
        let folder = config.export.outputDir
        var timings: [String: Double] = [:]
        let t0 = DispatchTime.now().uptimeNanoseconds
        // A run killed while it committed is rolled back before the model is read.
        try Staging.recoverAbandoned(in: folder, logger: logger)
        let metaPath = folder + "/training_metadata.json"
        guard let metaData = FileManager.default.contents(atPath: metaPath) else {
            throw ModelMismatch(message: "\(metaPath): no saved model to update; run a full training first (trainer train without --incremental)")
        }
        let previous: TrainingMetadata
        do { previous = try JSONDecoder().decode(TrainingMetadata.self, from: metaData) } catch {
            throw ModelMismatch(message: "\(metaPath): not readable training metadata (\(error)); run a full training")
        }
        let saved: TrainerConfig
        do { saved = try TrainerConfig.parse(yaml: previous.config.yaml(), path: metaPath + " (config)") } catch {
            throw ModelMismatch(message: "\(metaPath): the saved configuration is not valid (\(error)); run a full training")
        }
        try checkCompatible(saved, config, path: metaPath)
        let pipeline = try FeaturePipeline.load(path: folder + "/pipeline.json")
        var state = try ItemState.load(path: folder + "/item_state.tsv")
        guard let space = Space(rawValue: config.index.space) else { throw InputError("unknown space \(config.index.space)") }
        var index: HNSWIndex
        do { index = try HNSWIndex.load(path: folder + "/hnsw_index.bin", space: space, dim: pipeline.dimension, seed: UInt64(config.seed)) }
        catch { throw InputError("\(error)") }
        for name in ["vectors.npy", "item_weights.npy"] where !FileManager.default.fileExists(atPath: folder + "/" + name) {
            throw ModelMismatch(message: "\(folder)/\(name): the saved model has no \(name) (it was trained with export.numpy: false), and an incremental run starts from the saved vectors; run a full training")
        }
        let oldVectors: FloatMatrix, oldWeights: FloatMatrix
        do {
            oldVectors = try NPY.read(path: folder + "/vectors.npy")
            oldWeights = try NPY.read(path: folder + "/item_weights.npy")
        } catch { throw InputError("\(error)") }
        guard index.count == state.ids.count, oldVectors.rows == state.ids.count, oldVectors.cols == pipeline.dimension,
              oldWeights.rows == state.ids.count else {
            throw ModelMismatch(message: "\(folder): the saved artifacts disagree (index \(index.count), item state \(state.ids.count), vectors \(oldVectors.rows)×\(oldVectors.cols)); run a full training")
        }
        let catalog = try CatalogLoader.load(config: config)
        for w in catalog.warnings { logger.warning("input", metadata: ["warning": "\(w)"]) }
        let (fresh, freshWeights) = try pipeline.transform(catalog)
        let fingerprints = ItemState.fingerprints(catalog, columns: CatalogLoader.Needs(config: config).featureInputs)
        timings["load"] = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9

        let t1 = DispatchTime.now().uptimeNanoseconds
        let d = pipeline.dimension
        var labelOf: [ItemKey: Int] = [:]
        for (i, id) in state.ids.enumerated() { labelOf[ItemKey(id)] = i }
        var vectors = oldVectors.values
        var weights = oldWeights.values.map(Double.init)
        var newRows: [Int] = []
        var updated = 0, deleted = 0, revived = 0
        var present = [Bool](repeating: false, count: state.ids.count)
        var rowLabel = [Int](repeating: -1, count: catalog.count)
        for r in 0..<catalog.count {
            guard let label = labelOf[ItemKey(catalog.ids[r])] else {
                newRows.append(r)
                continue
            }
            rowLabel[r] = label
            present[label] = true
            let row = Array(fresh[(r * d)..<((r + 1) * d)])
            if state.fingerprints[label] != fingerprints[r] || state.deleted[label] {
                if state.deleted[label] { revived += 1 }
                try row.withUnsafeBufferPointer { try index.update(label: UInt64(label), vector: $0) }
                vectors.replaceSubrange((label * d)..<((label + 1) * d), with: row)
                weights[label] = freshWeights[r]
                state.fingerprints[label] = fingerprints[r]
                state.deleted[label] = false
                updated += 1
            }
        }
        if config.incrementalDeleteMissing {
            for label in present.indices where !present[label] && !state.deleted[label] {
                try index.markDeleted(UInt64(label))
                state.deleted[label] = true
                deleted += 1
            }
        }
        if !newRows.isEmpty {
            let first = state.ids.count
            try index.resize(capacity: max(index.capacity, first + newRows.count))
            var rows: [Float] = []
            rows.reserveCapacity(newRows.count * d)
            for (k, r) in newRows.enumerated() {
                rowLabel[r] = first + k
                rows += fresh[(r * d)..<((r + 1) * d)]
                state.ids.append(catalog.ids[r])
                state.fingerprints.append(fingerprints[r])
                state.deleted.append(false)
                weights.append(freshWeights[r])
            }
            vectors += rows
            try rows.withUnsafeBufferPointer {
                try index.add(rows: $0, labels: (first..<(first + newRows.count)).map(UInt64.init), options: BuildOptions(threads: threads))
            }
        }
        // Inserting into a graph of mostly deleted elements can leave new items where no search
        // reaches them (every old element deleted: the new ones hang off a deleted entry point). A
        // graph with half its elements deleted, or more than 1% of its live items unreachable, is
        // rebuilt from every label's current vector, deleted ones marked again: the same labels and
        // files, a graph as a full build makes it.
        let stats = index.statistics()
        let live = index.count - index.deletedCount
        if live > 0, Double(stats.liveReachable) < QualityReport.reachableWarning * Double(live) || 2 * index.deletedCount >= index.count {
            let rebuilt = try HNSWIndex(space: space, dim: d, M: index.M, efConstruction: index.efConstruction, capacity: index.count,
                                        seed: UInt64(config.seed))
            try vectors.withUnsafeBufferPointer {
                try rebuilt.add(rows: $0, labels: (0..<index.count).map(UInt64.init), options: BuildOptions(threads: threads))
            }
            for label in state.deleted.indices where state.deleted[label] { try rebuilt.markDeleted(UInt64(label)) }
            logger.warning("index rebuilt", metadata: [
                "reason": "\(live - stats.liveReachable) of \(live) live items were unreachable and \(index.deletedCount) of \(index.count) elements are deleted",
                "elements": "\(index.count)"])
            index = rebuilt
        }
        timings["index"] = Double(DispatchTime.now().uptimeNanoseconds - t1) * 1e-9
        // A revived id (deleted before, present again) counts as added, as the drift section counts it.
        let changes = ["added": newRows.count + revived, "updated": updated - revived, "deleted": deleted]
        logger.info("incremental update", metadata: changes.mapValues { "\($0)" })
        // The projector shows the model's vectors (unchanged items keep their cross-fitted ones), and
        // items kept although gone from the input (delete_missing: false) with missing metadata.
        let kept = present.indices.filter { !present[$0] && !state.deleted[$0] }
        let t = config.export.tensorboard
        let projector = t.enabled
            ? try ProjectorExporter.points(catalog: catalog, idColumn: config.input.idColumn, config: t, seed: config.seed,
                                           label: { rowLabel[$0] }, extra: kept.map { ($0, state.ids[$0]) })
            : nil
        let staging = try Staging(folder: folder)
        defer { staging.discard() }
        let staged = try stage(staging, state: state, vectors: vectors, weights: weights, pipeline: pipeline, projector: projector,
                               config: config, logger: logger)
        vectors = []
        weights = []
        let quality = try publish(Artifacts(state: state, pipeline: pipeline, index: index, staged: staged,
                                            parentModel: previous.artifacts["hnsw_index.bin"], changes: changes),
                                  into: staging, config: config, space: space, startedAt: startedAt, timings: &timings,
                                  threads: threads, logger: logger)
        return Summary(items: index.count - index.deletedCount, dimension: d, folder: folder, timings: timings, quality: quality)
    }

    /// The pipeline and index settings must equal the saved model's.
    static func checkCompatible(_ saved: TrainerConfig, _ now: TrainerConfig, path: String) throws {
        var differing: [String] = []
        if saved.seed != now.seed { differing.append("seed") }
        if saved.input.idColumn != now.input.idColumn { differing.append("input.id_column") }
        if saved.features != now.features { differing.append("features") }
        if saved.cleaning != now.cleaning { differing.append("cleaning") }
        if saved.scaling != now.scaling { differing.append("scaling") }
        if saved.onehot != now.onehot { differing.append("onehot") }
        if saved.targetEncoding != now.targetEncoding { differing.append("target_encoding") }
        if saved.weighting != now.weighting { differing.append("weighting") }
        if saved.index.space != now.index.space || saved.index.M != now.index.M || saved.index.efConstruction != now.index.efConstruction {
            differing.append("index (space, M, ef_construction)")
        }
        if !differing.isEmpty {
            throw ModelMismatch(message: "the configuration differs from the saved model in \(differing.joined(separator: ", ")) (\(path)); run a full retrain: trainer train without --incremental")
        }
    }
}
