import ArgumentParser
import Foundation
import HNSW
import Shared

struct BuildIndexCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build-index",
        abstract: "Builds an HNSW index from a float32 .npy matrix; row i gets label i.")

    @Option(help: "Input vectors (.npy, float32, shape (N, D)).") var vectors: String
    @Option(help: "Output index file (hnswlib v0.8.0 format).") var out: String = "models/hnsw_index.bin"
    @Option(help: "Distance space: cosine, ip or l2.") var space: Space = .cosine
    @Option(name: .customShort("M"), help: "Links per node (2·M on layer 0).") var m: Int = 32
    @Option(name: .customLong("ef-construction"), help: "Beam width while building.") var efConstruction: Int = 200
    @Option(help: "Build threads (0 = all cores).") var threads: Int = 0
    @Option(help: "Level seed.") var seed: UInt64 = 42
    @Option(help: "deterministic (reproducible for any thread count) or locked (hnswlib's scheme).")
    var mode: BuildMode = .deterministic
    @Option(name: .customLong("batch-size"), help: "Largest insertion batch (deterministic mode); part of the output's identity.")
    var batchSize: Int = 128
    @Flag(help: "Print one JSON object instead of text.") var json = false

    func run() throws {
        guard m >= 2 else { throw CLIError.usage("-M must be ≥ 2, got \(m)") }
        guard efConstruction >= 1 else { throw CLIError.usage("--ef-construction must be ≥ 1, got \(efConstruction)") }
        guard batchSize >= 1 else { throw CLIError.usage("--batch-size must be ≥ 1, got \(batchSize)") }
        let t0 = now()
        let x = try readVectors(vectors)
        guard x.cols >= 1 else { throw CLIError.input("\(vectors): vectors have dimension 0") }
        let t1 = now()
        let n = x.rows
        let index = try HNSWIndex(space: space, dim: x.cols, M: m, efConstruction: efConstruction, capacity: n, seed: seed)
        let t = resolveThreads(threads)
        try x.values.withUnsafeBufferPointer { rows in
            try index.add(rows: rows, labels: (0..<n).map { UInt64($0) },
                          options: BuildOptions(threads: t, mode: mode, batchSize: batchSize))
        }
        let t2 = now()
        let dir = (out as NSString).deletingLastPathComponent
        if !dir.isEmpty { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do { try index.save(to: out) } catch let e as HNSWError { throw CLIError.runtime("\(e)") }
        let t3 = now()
        let build = t2 - t1
        if json {
            print("{\"n\": \(n), \"dim\": \(x.cols), \"threads\": \(t), \"mode\": \"\(mode.rawValue)\", \"load_s\": \(t1 - t0), \"build_s\": \(build), \"save_s\": \(t3 - t2), \"peak_rss\": \(peakRSS()), \"isa\": \"\(Distance.isa)\"}")
        } else {
            print("built \(n) × \(x.cols) \(space.rawValue) index (M \(m), ef_construction \(efConstruction), \(mode.rawValue), \(t) threads, \(Distance.isa) kernels)")
            print(String(format: "build %.2f s (%.0f inserts/s), load %.2f s, save %.2f s, peak RSS %.0f MiB → %@",
                         build, Double(n) / max(build, 1e-9), t1 - t0, t3 - t2, Double(peakRSS()) / 1_048_576, out))
        }
    }
}
