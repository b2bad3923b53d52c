// Shared by every fuzz harness: the decoders under test read paths, so each input is written to
// one scratch file per process (in /dev/shm when it exists) and the decoder opens that.
#if canImport(Glibc)
import Glibc
#endif

enum Scratch {
    nonisolated(unsafe) static var cached: String?

    static var path: String {
        if let p = cached { return p }
        var dir = "/tmp"
        var st = stat()
        if stat("/dev/shm", &st) == 0, access("/dev/shm", W_OK) == 0 { dir = "/dev/shm" }
        let p = "\(dir)/trainer-fuzz-\(getpid())"
        cached = p
        return p
    }

    /// Writes `data` to the scratch file (truncating it) and returns its path.
    static func write(_ data: UnsafeRawBufferPointer) -> String {
        let p = path
        let fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { abortWith("cannot create \(p)") }
        var done = 0
        while done < data.count, let base = data.baseAddress {
            let n = Glibc.write(fd, base + done, data.count - done)
            if n <= 0 { close(fd); abortWith("cannot write \(p)") }
            done += n
        }
        close(fd)
        return p
    }
}

/// A harness invariant broke: libFuzzer saves the input as a crasher.
func abortWith(_ message: String) -> Never {
    let line = Array("fuzz harness: \(message)\n".utf8)
    _ = line.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    abort()
}

/// The decoder's error must be one of its own clean error types, naming the scratch file.
func expectClean(_ error: Error, _ accepted: (Error) -> Bool) {
    if !accepted(error) { abortWith("unexpected error type \(type(of: error)): \(error)") }
}
