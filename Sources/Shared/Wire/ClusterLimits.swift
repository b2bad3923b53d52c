/// Ranges of the cluster settings that travel in wire messages. The configuration and the command
/// line check against the same table the decoder enforces, so a setting that is accepted at start-up
/// is never refused by a worker later.
public enum RefineLimits {
    /// Candidates kept from each cross-shard search.
    public static let k: ClosedRange<Int> = 1...4096
    /// Beam width of each cross-shard search.
    public static let ef: ClosedRange<Int> = 1...100_000
    /// Other shards searched per boundary element (one byte on the wire).
    public static let maxShards: ClosedRange<Int> = 0...255
}

/// Ranges of the shard plan.
public enum ShardLimits {
    /// Shards per build (a refinement message ships at most this many).
    public static let count: ClosedRange<Int> = 1...65_536
}
