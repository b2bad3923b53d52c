import ArgumentParser
import Foundation
import HNSW
import Shared

/// What `make run` does until the full training run exists: synthesise, build, save, reload, evaluate.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Synthesises vectors, builds and saves an index, reloads it and prints recall.")

    @Option(help: "Rows.") var rows: Int = 20_000
    @Option(help: "Dimension.") var dim: Int = 32
    @Option(help: "Output folder.") var out: String = "models"
    @Option(help: "Build threads (0 = all cores).") var threads: Int = 0

    func run() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let x = SyntheticVectors.make(rows: rows, dim: dim, seed: 42, clusters: 20)
        let vpath = out + "/vectors.npy", ipath = out + "/hnsw_index.bin"
        try NPY.write(x, to: vpath)
        let t = resolveThreads(threads)
        let index = try HNSWIndex(space: .cosine, dim: dim, M: 16, efConstruction: 200, capacity: rows, seed: 42)
        let t0 = now()
        try x.values.withUnsafeBufferPointer {
            try index.add(rows: $0, labels: (0..<rows).map(UInt64.init), options: BuildOptions(threads: t))
        }
        let secs = now() - t0
        try index.save(to: ipath)
        let loaded = try HNSWIndex.load(path: ipath, space: .cosine, dim: dim)
        let q = FloatMatrix(rows: 500, cols: dim, values: Array(x.values[0..<(500 * dim)]))
        let truth = x.values.withUnsafeBufferPointer { b in
            q.values.withUnsafeBufferPointer { ExactSearch.knn(base: b, queries: $0, dim: dim, k: 10, space: .cosine, threads: t) }
        }
        let found = try q.values.withUnsafeBufferPointer { try loaded.searchBatch($0, k: 10, ef: 100, threads: t) }
        print("wrote \(vpath) and \(ipath)")
        print(String(format: "built %d × %d cosine index in %.2f s on %d threads; recall@10 at ef 100 = %.4f",
                     rows, dim, secs, t, ExactSearch.recall(found, truth: truth)))
    }
}
