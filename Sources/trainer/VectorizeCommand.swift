import ArgumentParser
import Foundation
import HNSW
import Shared

struct VectorizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectorize",
        abstract: "Loads the catalog, fits the feature pipeline and writes vectors.npy, pipeline.json, labels.tsv and item_weights.npy.")

    @Option(help: "Configuration file.") var config: String = "config/trainer.yml"
    @Option(help: "Output folder (default: export.output_dir of the configuration); not a folder holding a trained model.")
    var out: String?

    func validate() throws {
        if let out, out.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--out is empty; name a folder") }
    }

    func run() throws {
        let cfg: TrainerConfig
        do { cfg = try TrainerConfig.load(path: config) } catch let e as ConfigError { throw CLIError.usage("\(e)") }
        let folder = out ?? cfg.export.outputDir
        let key = out == nil ? "export.output_dir" : "--out"
        do { try PathChecks.writableFolder(folder, key: key, config: out == nil ? config : "command line") } catch {
            throw CLIError.usage("\(error)")
        }
        // A trained model's files are one set: replacing four of them would leave the index and the
        // item state of another run beside them.
        if FileManager.default.fileExists(atPath: folder + "/training_metadata.json") {
            throw CLIError.usage("\(folder) holds a trained model (training_metadata.json); vectorize would replace part of it. Give --out another folder")
        }
        try cfg.checkPaths(path: config, incremental: false, cluster: false)
        let t0 = now()
        let catalog: Catalog
        let fitted: (FeaturePipeline, [Float], [Double])
        let t1: Double
        do {
            catalog = try CatalogLoader.load(config: cfg)
            t1 = now()
            fitted = try FeaturePipeline.fit(catalog, config: cfg)
        } catch let e as InputError {
            throw CLIError.input(e.message)
        }
        let (pipeline, vectors, weights) = fitted
        do {
            try VectorExporter.write(folder: folder, ids: catalog.ids, vectors: vectors, dimension: pipeline.dimension,
                                     weights: weights, pipeline: pipeline)
        } catch {
            throw CLIError.runtime("\(error)")
        }
        let t3 = now()
        print(String(format: "vectorised %d items into %d dimensions in %.2f s (load %.2f s, pipeline and write %.2f s) → %@/: %@",
                     catalog.count, pipeline.dimension, t3 - t0, t1 - t0, t3 - t1, folder,
                     VectorExporter.fileNames.joined(separator: ", ")))
    }
}
