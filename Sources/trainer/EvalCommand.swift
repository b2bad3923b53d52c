import ArgumentParser
import Foundation
import HNSW
import Shared

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Recall@k against exact search, and queries per second, at several ef.")

    @Option(help: "Index file.") var index: String = "models/hnsw_index.bin"
    @Option(help: "Distance space the index was built with.") var space: Space = .cosine
    @Option(help: "The indexed vectors (.npy); row i is label i.") var vectors: String
    @Option(help: "Query vectors (.npy); default: a seeded sample of --vectors rows.") var queries: String?
    @Option(help: "Queries sampled from --vectors when --queries is absent.") var sample: Int = 1000
    @Option(name: .short, help: "Neighbours per query.") var k: Int = 10
    @Option(help: "Comma-separated ef values.") var ef: String = "10,50,100,200"
    @Option(help: "Threads for the exact search (queries per second are measured on one thread).") var threads: Int = 0
    @Flag(help: "Print JSON Lines instead of a table.") var json = false

    func run() throws {
        let efs = ef.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard efs.allSatisfy({ ($0 ?? 0) >= 1 }), !efs.isEmpty else { throw CLIError.usage("--ef must list positive integers, got \(ef)") }
        guard k >= 1 else { throw CLIError.usage("-k must be ≥ 1, got \(k)") }
        let base = try readVectors(vectors)
        let idx = try loadIndex(index, space: space, dim: base.cols)
        var q: FloatMatrix
        if let queries {
            q = try readVectors(queries)
            guard q.cols == base.cols else {
                throw CLIError.input("\(queries): queries have dimension \(q.cols), the vectors \(base.cols)")
            }
        } else {
            var g = SyntheticVectors.Generator(seed: 7)
            let rows = (0..<min(sample, base.rows)).map { _ in Int(g.next() % UInt64(max(base.rows, 1))) }
            q = FloatMatrix(rows: rows.count, cols: base.cols, values: rows.flatMap { base.row($0) })
        }
        let t = resolveThreads(threads)
        let truth = base.values.withUnsafeBufferPointer { b in
            q.values.withUnsafeBufferPointer { qp in
                ExactSearch.knn(base: b, queries: qp, dim: base.cols, k: k, space: space, threads: t)
            }
        }
        if !json { print("ef\trecall@\(k)\tqps (1 thread)") }
        for e in efs.compactMap({ $0 }) {
            let t0 = now()
            let found = try q.values.withUnsafeBufferPointer { try idx.searchBatch($0, k: k, ef: e, threads: 1) }
            let secs = now() - t0
            let recall = ExactSearch.recall(found, truth: truth)
            let qps = Double(q.rows) / max(secs, 1e-9)
            if json {
                print("{\"ef\": \(e), \"k\": \(k), \"recall\": \(recall), \"qps\": \(qps), \"queries\": \(q.rows)}")
            } else {
                print(String(format: "%d\t%.4f\t%.0f", e, recall, qps))
            }
        }
    }
}
