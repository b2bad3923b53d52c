#if canImport(CMalloc)
import CMalloc
#endif

/// The process's heap: how glibc's allocator is set up, and handing freed memory back.
///
/// glibc raises its mmap threshold each time a large block is freed (up to 32 MiB), after which
/// blocks of that size come from the heap and stay in the process when freed: a coordinator
/// receiving 1 MiB result chunks on several threads kept about 120 MiB it no longer used, and a
/// training run kept the catalog's pages after releasing it. A fixed threshold keeps every large
/// buffer in its own mapping, returned to the system when freed (measured in docs/decisions.md).
public enum ProcessMemory {
    /// Blocks of at least this size are mapped on their own (glibc's initial threshold, held fixed).
    static let mmapThreshold: Int32 = 128 * 1024

    /// Fixes the allocator's mmap threshold; call once at start, before other threads exist.
    public static func configureAllocator() {
        #if canImport(CMalloc)
        _ = mallopt(M_MMAP_THRESHOLD, mmapThreshold)
        #endif
    }

    /// Returns freed heap pages to the system, after a large structure (the catalog) is released.
    public static func returnFreedMemory() {
        #if canImport(CMalloc)
        _ = malloc_trim(0)
        #endif
    }
}
