import Dispatch

/// Runs independent per-column work on every core; results keep the column order and the first
/// error (in column order) is rethrown.
enum ParallelColumns {
    private struct Unchecked<T>: @unchecked Sendable {
        let value: T
    }

    static func map<T>(_ count: Int, _ body: (Int) throws -> T) throws -> [T] {
        if count <= 1 { return try (0..<count).map(body) }
        var results = [Result<T, Error>?](repeating: nil, count: count)
        results.withUnsafeMutableBufferPointer { buf in
            let out = Unchecked(value: buf.baseAddress!)
            withoutActuallyEscaping(body) { body in
                let task = Unchecked(value: body)
                DispatchQueue.concurrentPerform(iterations: count) { i in
                    (out.value + i).pointee = Result { try task.value(i) }
                }
            }
        }
        return try results.map { try $0!.get() }
    }
}
