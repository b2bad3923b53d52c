import ArgumentParser
import Foundation
import HNSW
import Shared

struct VectorizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vectorize",
        abstract: "Loads the catalog, fits the feature pipeline and writes vectors.npy, pipeline.json, labels.tsv and item_weights.npy.")

    @Option(help: "Configuration file.") var config: String = "config/trainer.yml"
    @Option(help: "Output folder (default: export.output_dir of the configuration).") var out: String?

    func run() throws {
        let cfg: TrainerConfig
        do { cfg = try TrainerConfig.load(path: config) } catch let e as ConfigError { throw CLIError.usage("\(e)") }
        let t0 = now()
        let catalog: Catalog
        let fitted: (FeaturePipeline, [Float], [Double])
        do {
            catalog = try CatalogLoader.load(config: cfg)
            fitted = try FeaturePipeline.fit(catalog, config: cfg)
        } catch let e as InputError {
            throw CLIError.input(e.message)
        }
        let (pipeline, vectors, weights) = fitted
        let folder = out ?? cfg.export.outputDir
        do {
            try VectorExporter.write(folder: folder, ids: catalog.ids, vectors: vectors, dimension: pipeline.dimension,
                                     weights: weights, pipeline: pipeline)
        } catch {
            throw CLIError.runtime("\(error)")
        }
        print(String(format: "vectorised %d items into %d dimensions in %.2f s → %@/vectors.npy", catalog.count, pipeline.dimension,
                     now() - t0, folder))
    }
}
