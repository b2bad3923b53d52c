import ArgumentParser
import HNSW
import Shared

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Prints the k nearest neighbours of one row of a .npy matrix.")

    @Option(help: "Index file.") var index: String = "models/hnsw_index.bin"
    @Option(help: "Distance space the index was built with.") var space: Space = .cosine
    @Option(help: "Vectors (.npy) holding the query row.") var vectors: String
    @Option(help: "Row of --vectors to query with.") var row: Int
    @Option(name: .short, help: "Neighbours to return.") var k: Int = 10
    @Option(help: "Search beam width.") var ef: Int = 100

    func run() throws {
        guard k >= 1 else { throw CLIError.usage("-k must be ≥ 1, got \(k)") }
        let x = try readVectors(vectors)
        guard row >= 0 && row < x.rows else {
            throw CLIError.usage("--row \(row) is outside \(vectors), which has \(x.rows) rows")
        }
        let idx = try loadIndex(index, space: space, dim: x.cols)
        print("rank\tlabel\tdistance")
        for (i, nb) in try idx.search(x.row(row), k: k, ef: ef).enumerated() {
            print("\(i + 1)\t\(nb.label)\t\(nb.distance)")
        }
    }
}
