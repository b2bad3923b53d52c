#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value guarded by a pthread mutex.
///
/// Used instead of the standard library's `Synchronization.Mutex` for state shared by the build's
/// threads: on Linux that Mutex waits and wakes through futex calls inside the prebuilt runtime,
/// which ThreadSanitizer does not see, so every contended section is reported as a data race (a
/// false positive reproduced in docs/reliability.md). pthread mutexes are intercepted by the
/// sanitizer, so the sanitized test run stays free of suppressions and still checks this code.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
