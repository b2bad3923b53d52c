/// Failures of a cluster build that the user can act on.
public enum CoordinatorError: Error, CustomStringConvertible, Sendable, Equatable {
    case workFolder(path: String, reason: String)
    case transport(String)
    case shardFailed(shard: Int, attempts: Int, reason: String)
    case workersExited(String)
    case shardTooLarge(shard: Int, bytes: Int, cap: Int)
    case invalidSettings(String)

    public var description: String {
        switch self {
        case .workFolder(let p, let r): return "work folder \(p): \(r)"
        case .transport(let m): return "cluster transport: \(m)"
        case .shardFailed(let s, let a, let r): return "shard \(s) failed \(a) times; last reason: \(r)"
        case .workersExited(let m): return "every local worker exited before the build finished: \(m)"
        case .shardTooLarge(let s, let b, let c):
            return "shard \(s) needs a \(b)-byte job message, above the \(c)-byte cap: use more shards (cluster.shards)"
        case .invalidSettings(let m): return "cluster settings: \(m)"
        }
    }
}
