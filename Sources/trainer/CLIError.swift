import Foundation
import ArgumentParser
import HNSW
import Shared

/// A command-line failure with its exit code.
struct CLIError: Error {
    var message: String
    var exitCode: Int32

    static func usage(_ m: String) -> CLIError { CLIError(message: m, exitCode: 2) }
    static func input(_ m: String) -> CLIError { CLIError(message: m, exitCode: 3) }
    static func runtime(_ m: String) -> CLIError { CLIError(message: m, exitCode: 1) }

    init(message: String, exitCode: Int32) {
        self.message = message
        self.exitCode = exitCode
    }

    init(_ e: HNSWError) {
        switch e {
        case .corruptFile, .dimensionMismatch, .duplicateLabel: self = .input("\(e)")
        case .invalidParameter: self = .usage("\(e)")
        case .io, .labelNotFound, .capacityExceeded, .invalidGraph, .cancelled: self = .runtime("\(e)")
        }
    }
}

extension Space: ExpressibleByArgument {}
extension FileLayout: ExpressibleByArgument {}

/// Reads a `.npy` input of at least one row and one column, as an input error naming the file.
func readVectors(_ path: String, flag: String) throws -> FloatMatrix {
    let x: FloatMatrix
    do { x = try NPY.read(path: path) } catch let e as NPYError { throw CLIError.input("\(e)") }
    guard x.rows >= 1, x.cols >= 1 else {
        throw CLIError.input("\(path): \(flag) has shape (\(x.rows), \(x.cols)); it needs at least one row and one column")
    }
    return x
}

/// Refuses vectors holding NaN or infinity, naming the file and the first bad row: an index built
/// from them has elements no search can reach.
func checkFinite(_ x: FloatMatrix, path: String) throws {
    for r in 0..<x.rows {
        let row = x.values[(r * x.cols)..<((r + 1) * x.cols)]
        if let j = row.firstIndex(where: { !$0.isFinite }) {
            throw CLIError.input("\(path): row \(r) holds \(row[j]) in column \(j - r * x.cols); vectors must be finite")
        }
    }
}

/// Loads an index to search with `x` (read from `vectorsPath`): a dimension mismatch names the
/// vectors file, not the index.
func loadIndex(_ path: String, space: Space, for x: FloatMatrix, vectorsPath: String) throws -> HNSWIndex {
    if let header = try? HNSWIndex.readHeader(path: path), let dim = header.impliedDimension, dim != x.cols {
        throw CLIError.input("\(vectorsPath): vectors have dimension \(x.cols), but the index \(path) has dimension \(dim)")
    }
    return try loadIndex(path, space: space, dim: x.cols)
}

/// Loads an index, as an input error when the file is bad or missing.
func loadIndex(_ path: String, space: Space, dim: Int) throws -> HNSWIndex {
    do { return try HNSWIndex.load(path: path, space: space, dim: dim) } catch let e as HNSWError {
        if case .io = e { throw CLIError.input("\(e)") }
        throw CLIError(e)
    }
}

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Peak resident set size of this process in bytes.
func peakRSS() -> Int { TrainingRun.peakRSS() }

/// The number of threads to use when the user gave 0 (all cores).
func resolveThreads(_ t: Int) -> Int { t > 0 ? t : max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

