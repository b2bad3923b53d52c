#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading and atomic writing of binary files with plain POSIX calls, so the index module needs
/// no Foundation. Errors carry the path and the system's reason.
public enum FileIO {
    static func reason() -> String { String(cString: strerror(errno)) }

    /// Buffered sequential reader that never reads past the end and reports short files.
    public final class Reader {
        public let path: String
        let fd: Int32
        /// File size in bytes.
        public let size: Int
        public private(set) var position = 0
        private var buffer: UnsafeMutableRawPointer
        /// 1 MiB, or the file's size when smaller: a small file costs a small buffer.
        private let bufferSize: Int
        private var bufStart = 0
        private var bufEnd = 0

        public init(path: String) throws {
            self.path = path
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { throw HNSWError.io(path: path, message: "cannot open: \(FileIO.reason())") }
            var st = stat()
            if fstat(fd, &st) != 0 {
                close(fd)
                throw HNSWError.io(path: path, message: "cannot stat: \(FileIO.reason())")
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                close(fd)
                throw HNSWError.io(path: path, message: "is a directory, not an index file")
            }
            size = Int(st.st_size)
            bufferSize = min(1 << 20, max(size, 64))
            buffer = .allocate(byteCount: bufferSize, alignment: 16)
        }

        deinit {
            buffer.deallocate()
            close(fd)
        }

        public var remaining: Int { size - position }

        /// Reads exactly `count` bytes into `dest`; the caller has checked `remaining`.
        public func read(into dest: UnsafeMutableRawPointer, count: Int) throws {
            var done = 0
            let cached = min(bufEnd - bufStart, count)
            if cached > 0 {
                dest.copyMemory(from: buffer + bufStart, byteCount: cached)
                bufStart += cached
                done = cached
            }
            if count - done >= bufferSize {
                while done < count {
                    let n = Glibc.read(fd, dest + done, min(count - done, 1 << 30))
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { throw HNSWError.io(path: path, message: "read failed: \(n == 0 ? "unexpected end of file" : FileIO.reason())") }
                    done += n
                }
            } else {
                while done < count {
                    if bufStart == bufEnd { try fill() }
                    let take = min(bufEnd - bufStart, count - done)
                    (dest + done).copyMemory(from: buffer + bufStart, byteCount: take)
                    bufStart += take
                    done += take
                }
            }
            position += count
        }

        public func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
            var v: T = 0
            try withUnsafeMutableBytes(of: &v) { try read(into: $0.baseAddress!, count: MemoryLayout<T>.size) }
            return T(littleEndian: v)
        }

        private func fill() throws {
            while true {
                let n = Glibc.read(fd, buffer, bufferSize)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw HNSWError.io(path: path, message: "read failed: \(n == 0 ? "unexpected end of file" : FileIO.reason())") }
                bufStart = 0
                bufEnd = n
                return
            }
        }
    }

    /// The whole file at `path`.
    public static func readAll(_ path: String) throws -> [UInt8] {
        let r = try Reader(path: path)
        return try [UInt8](filling: r.size) { buf in
            if let base = buf.baseAddress { try r.read(into: base, count: r.size) }
        }
    }

    /// Calls `body` with each line of `path` (without its line feed) and its index, reading a
    /// megabyte at a time. A last line without a line feed is passed too.
    public static func forEachLine(_ path: String, _ body: (ArraySlice<UInt8>, Int) throws -> Void) throws {
        let r = try Reader(path: path)
        var buffer: [UInt8] = []
        var line = 0
        while r.remaining > 0 {
            let n = min(1 << 20, r.remaining)
            let old = buffer.count
            buffer.append(contentsOf: repeatElement(0, count: n))
            try buffer.withUnsafeMutableBytes { b in
                if let base = b.baseAddress { try r.read(into: base + old, count: n) }
            }
            var start = 0
            while let end = buffer[start...].firstIndex(of: 10) {
                try body(buffer[start..<end], line)
                line += 1
                start = end + 1
            }
            buffer.removeFirst(start)
        }
        if !buffer.isEmpty { try body(buffer[...], line) }
    }

    /// Writes `bytes` to `path` atomically (temporary file, sync, rename).
    public static func writeAtomically(_ bytes: some Collection<UInt8>, to path: String) throws {
        let w = try AtomicWriter(path: path)
        // A string's UTF-8 view is usually contiguous: written in place, not copied first.
        let wrote: Void?? = try bytes.withContiguousStorageIfAvailable { b in
            if let base = b.baseAddress, b.count > 0 { try w.write(base, count: b.count) }
        }
        if wrote == nil {
            let array = Array(bytes)
            try array.withUnsafeBytes { b in if let base = b.baseAddress, b.count > 0 { try w.write(base, count: b.count) } }
        }
        try w.commit()
    }

    /// Writes `count` lines made by `line` to `path` atomically, a megabyte at a time, so a file of
    /// ten million lines is never held whole in memory.
    public static func writeLines(count: Int, to path: String, _ line: (Int) -> String) throws {
        let w = try AtomicWriter(path: path)
        var chunk = ""
        chunk.reserveCapacity(1 << 20 + 4096)
        for i in 0..<count {
            chunk += line(i)
            if chunk.utf8.count >= 1 << 20 {
                try w.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try w.write(chunk)
        try w.commit()
    }

    /// Buffered writer to a temporary file beside `path`, renamed over it on `commit()`.
    /// If the writer is dropped without commit, the temporary file is removed.
    public final class AtomicWriter {
        public let path: String
        /// Where the bytes go until `commit()`.
        public let tempPath: String
        private var fd: Int32
        private var buffer: UnsafeMutableRawPointer
        private let bufferSize = 1 << 20
        private var used = 0
        private var committed = false

        /// - Parameter tag: distinguishes concurrent writers of the same `path` in one process (the
        ///   temporary file is `path.tmp-PID` or `path.tmp-PID-tag`).
        public init(path: String, tag: String? = nil) throws {
            self.path = path
            tempPath = path + ".tmp-\(getpid())" + (tag.map { "-" + $0 } ?? "")
            fd = open(tempPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if fd < 0 { throw HNSWError.io(path: path, message: "cannot create \(tempPath): \(FileIO.reason())") }
            buffer = .allocate(byteCount: bufferSize, alignment: 16)
        }

        deinit {
            buffer.deallocate()
            if !committed {
                if fd >= 0 { close(fd) }
                unlink(tempPath)
            }
        }

        public func write(_ src: UnsafeRawPointer, count: Int) throws {
            if used + count > bufferSize { try flush() }
            if count >= bufferSize {
                try writeAll(src, count)
            } else {
                (buffer + used).copyMemory(from: src, byteCount: count)
                used += count
            }
        }

        /// Writes the UTF-8 bytes of `text`.
        public func write(_ text: String) throws {
            var t = text
            try t.withUTF8 { b in if let base = b.baseAddress, b.count > 0 { try write(base, count: b.count) } }
        }

        public func write<T: FixedWidthInteger>(_ v: T) throws {
            var le = v.littleEndian
            try withUnsafeBytes(of: &le) { try write($0.baseAddress!, count: MemoryLayout<T>.size) }
        }

        private func flush() throws {
            if used > 0 { try writeAll(buffer, used) }
            used = 0
        }

        private func writeAll(_ src: UnsafeRawPointer, _ count: Int) throws {
            var done = 0
            while done < count {
                let n = Glibc.write(fd, src + done, count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { throw HNSWError.io(path: path, message: "write failed: \(FileIO.reason())") }
                done += n
            }
        }

        /// Flushes and syncs what was written to the temporary file, which may then be read back.
        public func sync() throws {
            try flush()
            if fsync(fd) != 0 { throw HNSWError.io(path: path, message: "fsync failed: \(FileIO.reason())") }
        }

        /// Flushes, syncs and renames the temporary file over the destination.
        public func commit() throws {
            try flush()
            if fsync(fd) != 0 { throw HNSWError.io(path: path, message: "fsync failed: \(FileIO.reason())") }
            if close(fd) != 0 {
                fd = -1
                throw HNSWError.io(path: path, message: "close failed: \(FileIO.reason())")
            }
            fd = -1
            if rename(tempPath, path) != 0 { throw HNSWError.io(path: path, message: "rename failed: \(FileIO.reason())") }
            committed = true
        }
    }
}
