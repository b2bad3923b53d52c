// The .npy reader: refused with NPYError naming the file, or a matrix whose shape matches its values.
import Shared

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNPY(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Scratch.write(UnsafeRawBufferPointer(start: data, count: size))
    do {
        let m = try NPY.read(path: path)
        if m.values.count != m.rows * m.cols { abortWith("shape (\(m.rows), \(m.cols)) with \(m.values.count) values") }
        if m.rows > 0 && m.cols > 0 { _ = m.row(m.rows - 1) }
    } catch let e as NPYError {
        switch e {
        case .format(let p, _), .io(let p, _): if p != path { abortWith("the error names \(p)") }
        }
    } catch {
        abortWith("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
