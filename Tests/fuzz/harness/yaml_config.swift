// The YAML configuration: parsed and validated, or refused with ConfigError naming the file.
import Shared

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzYAMLConfig(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // TrainerConfig.load reads the file as UTF-8 and refuses other bytes before parsing.
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    do {
        _ = try TrainerConfig.parse(yaml: text, path: "fuzz.yml")
    } catch let e as ConfigError {
        if e.path != "fuzz.yml" { abortWith("the error names \(e.path)") }
    } catch {
        abortWith("unexpected error type \(type(of: error)): \(error)")
    }
    return 0
}
