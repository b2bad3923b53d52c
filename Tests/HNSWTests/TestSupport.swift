import Foundation
@testable import HNSW

/// Seeded standard-normal rows for tests (row-major).
func randomRows(_ n: Int, _ dim: Int, seed: UInt64) -> [Float] {
    var g = SplitMix(seed: seed)
    func next() -> UInt64 { g.next() }
    return (0..<(n * dim)).map { _ in
        let u1 = Double((next() >> 11) + 1) * 0x1p-53, u2 = Double(next() >> 11) * 0x1p-53
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// Builds an index over `rows` with labels 0..<n.
func buildIndex(_ rows: [Float], dim: Int, space: Space = .l2, M: Int = 16, efConstruction: Int = 100,
                threads: Int = 2, capacity: Int? = nil) throws -> HNSWIndex {
    let n = rows.count / dim
    let index = try HNSWIndex(space: space, dim: dim, M: M, efConstruction: efConstruction, capacity: capacity ?? n, seed: 42)
    try rows.withUnsafeBufferPointer {
        try index.add(rows: $0, labels: (0..<n).map(UInt64.init), options: BuildOptions(threads: threads))
    }
    return index
}

/// Exact top-k labels of each query.
func exactTopK(_ rows: [Float], _ queries: [Float], dim: Int, k: Int, space: Space) -> [[Int]] {
    rows.withUnsafeBufferPointer { b in
        queries.withUnsafeBufferPointer { ExactSearch.knn(base: b, queries: $0, dim: dim, k: k, space: space, threads: 2) }
    }
}

/// A fresh path in a temporary folder.
func temporaryPath(_ name: String) -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hnsw-tests-\(getpid())")
    try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent(name).path
}

func fileBytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
func writeBytes(_ bytes: [UInt8], _ path: String) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }

/// Mean recall of result rows against truth rows.
func recall(_ found: [[Neighbor]], _ truth: [[Int]]) -> Double { ExactSearch.recall(found, truth: truth) }

/// The tests' seeded generator.
typealias SplitMix = SplitMix64
