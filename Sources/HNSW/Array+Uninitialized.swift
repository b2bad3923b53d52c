extension Array where Element: BitwiseCopyable {
    /// An array of `count` elements that `fill` writes in full, without zeroing them first.
    ///
    /// `init(unsafeUninitializedCapacity:initializingWith:)` with a capacity of 0 hands back the
    /// shared empty-array storage and writes its count (0) there: a write to a global that
    /// ThreadSanitizer reports as a race with any thread reading an empty array's count. Zero
    /// elements therefore give a plain empty array here, and `fill` is not called.
    @inlinable
    package init(filling count: Int, _ fill: (UnsafeMutableBufferPointer<Element>) throws -> Void) rethrows {
        guard count > 0 else {
            self = []
            return
        }
        self = try Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            try fill(buffer)
            initialized = count
        }
    }
}
