import ArgumentParser
import HNSW
import Shared

struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query", abstract: "Prints the k nearest neighbours of one row of a .npy matrix.")

    @Option(help: "Index file.") var index: String = "models/hnsw_index.bin"
    @Option(help: "Distance space the index was built with: cosine, ip or l2 (the file does not record it).") var space: Space
    @Option(help: "Vectors (.npy) holding the query row.") var vectors: String
    @Option(parsing: .unconditional,
            help: "Row of --vectors to query with; without it every row is a query and each output line lists one row's labels.")
    var row: Int?
    @Option(parsing: .unconditional, help: "Threads when querying every row (0 = all cores).") var threads: Int = 0
    @Option(name: .short, parsing: .unconditional, help: "Neighbours to return.") var k: Int = 10
    @Option(parsing: .unconditional, help: "Search beam width.") var ef: Int = 100

    func validate() throws {
        guard k >= 1 else { throw ValidationError("-k must be ≥ 1, got \(k)") }
        guard ParameterLimits.efSearch.contains(ef) else { throw ValidationError("--ef must be in 1…\(ParameterLimits.efSearch.upperBound), got \(ef)") }
        guard threads >= 0 else { throw ValidationError("--threads must be ≥ 0, got \(threads)") }
        if let row, row < 0 { throw ValidationError("--row must be ≥ 0, got \(row)") }
    }

    func run() throws {
        let x = try readVectors(vectors, flag: "--vectors")
        let idx = try loadIndex(index, space: space, for: x, vectorsPath: vectors)
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
            throw CLIError.usage("--row \(row) is outside \(vectors), which has \(x.rows) rows (0…\(x.rows - 1))")
        }
        print("rank\tlabel\tdistance")
        for (i, nb) in try idx.search(x.row(row), k: k, ef: ef).enumerated() {
            print("\(i + 1)\t\(nb.label)\t\(nb.distance)")
        }
    }
}
