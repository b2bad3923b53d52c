// The JSON / JSON Lines metadata reader, both ways it is driven: every key of every record, and
// the projected keys the catalog loader asks for. Errors must be JSONInputError naming the file.
import Shared

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONMetadata(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Scratch.write(UnsafeRawBufferPointer(start: data, count: size))
    let keys: [[UInt8]] = ["id", "category", "price", "tags", "a"].map { Array($0.utf8) }
    for projected in [false, true] {
        do {
            var r = try JSONRecordReader(path: path)
            var records = 0
            while records < 100_000 {
                if projected {
                    guard let row = try r.next(keys: keys) else { break }
                    if row.count != keys.count { abortWith("\(row.count) values for \(keys.count) keys") }
                } else {
                    guard try r.next() != nil else { break }
                }
                records += 1
            }
        } catch let e as JSONInputError {
            if e.path != path { abortWith("the error names \(e.path)") }
            if e.line < 1 { abortWith("the error names line \(e.line)") }
        } catch {
            abortWith("unexpected error type \(type(of: error)): \(error)")
        }
    }
    return 0
}
