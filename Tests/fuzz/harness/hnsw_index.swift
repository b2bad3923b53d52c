// The hnswlib index loader: any bytes are either refused with HNSWError.corruptFile / .io naming
// the file, or load into an index that can be searched and saved again.
import HNSW

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHNSWIndex(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let path = Scratch.write(bytes)
    // The caller names the dimension, as with hnswlib; the seeds use 4 and 16.
    for dim in [4, 16] {
        do {
            let index = try HNSWIndex.load(path: path, space: .l2, dim: dim)
            if index.count > 0 {
                _ = try index.search([Float](repeating: 0.5, count: dim), k: 5, ef: 16)
            }
            return 0
        } catch let e as HNSWError {
            switch e {
            case .corruptFile(let p, _), .io(let p, _):
                if p != path { abortWith("the error names \(p), not the file \(path)") }
            default: abortWith("unexpected index error \(e)")
            }
        } catch {
            abortWith("unexpected error type \(type(of: error)): \(error)")
        }
    }
    return 0
}
