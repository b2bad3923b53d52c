import ArgumentParser
import HNSW
import Shared

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Prints the k nearest neighbours of one row of a .npy matrix.")

    @Option(help: "Index file.") var index: String = "models/hnsw_index.bin"
    @Option(help: "Distance space the index was built with.") var space: Space = .cosine
    @Option(help: "Vectors (.npy) holding the query row.") var vectors: String
    @Option(help: "Row of --vectors to query with; without it every row is a query and each output line lists one row's labels.")
    var row: Int?
    @Option(help: "Threads when querying every row (0 = all cores).") var threads: Int = 0
    @Option(name: .short, help: "Neighbours to return.") var k: Int = 10
    @Option(help: "Search beam width.") var ef: Int = 100

    func run() throws {
        guard k >= 1 else { throw CLIError.usage("-k must be ≥ 1, got \(k)") }
        let x = try readVectors(vectors)
        let idx = try loadIndex(index, space: space, dim: x.cols)
        guard let row else {
            let found = try x.values.withUnsafeBufferPointer {
                try idx.searchBatch($0, k: k, ef: ef, threads: resolveThreads(threads))
            }
            var out = ""
            for r in found {
                out += r.map { String($0.label) }.joined(separator: " ")
                out += "\n"
            }
            print(out, terminator: "")
            return
        }
        guard row >= 0 && row < x.rows else {
            throw CLIError.usage("--row \(row) is outside \(vectors), which has \(x.rows) rows")
        }
        print("rank\tlabel\tdistance")
        for (i, nb) in try idx.search(x.row(row), k: k, ef: ef).enumerated() {
            print("\(i + 1)\t\(nb.label)\t\(nb.distance)")
        }
    }
}
