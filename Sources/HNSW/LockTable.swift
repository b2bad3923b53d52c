#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One mutex per element plus a global one, for the lock-based (hnswlib-style) parallel build.
/// Critical sections never nest, so the build cannot deadlock.
final class LockTable: @unchecked Sendable {
    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>
    private let count: Int

    init(count: Int) {
        self.count = count + 1
        mutexes = .allocate(capacity: self.count)
        for i in 0..<self.count { pthread_mutex_init(mutexes + i, nil) }
    }

    deinit {
        for i in 0..<count { pthread_mutex_destroy(mutexes + i) }
        mutexes.deallocate()
    }

    @inline(__always) func lock(_ id: UInt32) { pthread_mutex_lock(mutexes + Int(id) + 1) }
    @inline(__always) func unlock(_ id: UInt32) { pthread_mutex_unlock(mutexes + Int(id) + 1) }
    func lockGlobal() { pthread_mutex_lock(mutexes) }
    func unlockGlobal() { pthread_mutex_unlock(mutexes) }
}
