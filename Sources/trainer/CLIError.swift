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
        case .io, .labelNotFound, .capacityExceeded, .invalidGraph: self = .runtime("\(e)")
        }
    }
}

extension Space: ExpressibleByArgument {}
extension BuildMode: ExpressibleByArgument {}

/// Reads a `.npy` input, as an input error when it is bad.
func readVectors(_ path: String) throws -> FloatMatrix {
    do { return try NPY.read(path: path) } catch let e as NPYError { throw CLIError.input("\(e)") }
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

