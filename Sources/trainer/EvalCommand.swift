import ArgumentParser
import Foundation
import HNSW
import Shared

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Recall@k against exact search, and queries per second, at several ef.")

    @Option(help: "Index file.") var index: String = "models/hnsw_index.bin"
    @Option(help: "Distance space the index was built with: cosine, ip or l2 (the file does not record it).") var space: Space
    @Option(help: "The indexed vectors (.npy); row i is label i.") var vectors: String
    @Option(help: "Query vectors (.npy); default: a seeded sample of --vectors rows.") var queries: String?
    @Option(parsing: .unconditional, help: "Queries sampled from --vectors when --queries is absent.") var sample: Int = 1000
    @Option(name: .short, parsing: .unconditional, help: "Neighbours per query.") var k: Int = 10
    @Option(parsing: .unconditional, help: "Comma-separated ef values.") var ef: String = "10,50,100,200"
    @Option(parsing: .unconditional, help: "Threads for the exact search (queries per second are measured on one thread).")
    var threads: Int = 0
    @Flag(help: "Print JSON Lines instead of a table.") var json = false

    var efs: [Int] { ef.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        let parts = ef.split(separator: ",", omittingEmptySubsequences: false)
        guard !parts.isEmpty, efs.count == parts.count, efs.allSatisfy({ ParameterLimits.efSearch.contains($0) }) else {
            throw ValidationError("--ef must list integers in 1…\(ParameterLimits.efSearch.upperBound), got '\(ef)'")
        }
        guard k >= 1 else { throw ValidationError("-k must be ≥ 1, got \(k)") }
        guard sample >= 1 else { throw ValidationError("--sample must be ≥ 1, got \(sample)") }
        guard threads >= 0 else { throw ValidationError("--threads must be ≥ 0, got \(threads)") }
    }

    func run() throws {
        let base = try readVectors(vectors, flag: "--vectors")
        let idx = try loadIndex(index, space: space, for: base, vectorsPath: vectors)
        guard base.rows == idx.count else {
            throw CLIError.input("\(vectors): has \(base.rows) rows, but the index \(index) holds \(idx.count) labels; pass the vectors the index was built from (row i = label i)")
        }
        // The exact ground truth covers what the index serves: deleted labels are left out.
        let live = try (0..<base.rows).filter { !(try idx.isMarkedDeleted(UInt64($0))) }
        var q: FloatMatrix
        if let queries {
            q = try readVectors(queries, flag: "--queries")
            guard q.cols == base.cols else {
                throw CLIError.input("\(queries): queries have dimension \(q.cols), but the vectors and the index have \(base.cols)")
            }
        } else {
            guard !live.isEmpty else { throw CLIError.input("\(index): every label is deleted; there is nothing to evaluate") }
            var g = SyntheticVectors.Generator(seed: 7)
            let rows = (0..<min(sample, live.count)).map { _ in live[Int(g.next() % UInt64(live.count))] }
            q = FloatMatrix(rows: rows.count, cols: base.cols, values: rows.flatMap { base.row($0) })
        }
        let t = resolveThreads(threads)
        let liveBase = live.count == base.rows ? base.values : live.flatMap { base.row($0) }
        let truth = liveBase.withUnsafeBufferPointer { b in
            q.values.withUnsafeBufferPointer { qp in
                ExactSearch.knn(base: b, queries: qp, dim: base.cols, k: k, space: space, threads: t)
            }
        }.map { $0.map { live[$0] } }
        if !json { print("ef\trecall@\(k)\tqps (1 thread)") }
        for e in efs {
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
