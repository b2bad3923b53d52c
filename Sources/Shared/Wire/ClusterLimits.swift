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

    /// The fewest items a shard may hold on average: 4·M, and at least 100. Below that a shard's
    /// graph is a near-complete clique of few nodes and the merge cannot recover the neighbourhoods
    /// (measured on a 301-item catalog at M = 32: recall@10 0.94 at 16 shards, 0.54 at 301).
    public static func minimumItemsPerShard(M: Int) -> Int { max(100, 4 * M) }

    /// Why `shards` shards are too many for `items` items, or nil when they are not.
    public static func tooMany(shards: Int, items: Int, M: Int) -> String? {
        let minimum = minimumItemsPerShard(M: M)
        guard shards > 1, items < shards * minimum else { return nil }
        let most = items / minimum
        return "is \(shards), but \(items) items make shards of fewer than \(minimum) items (4·M, at least 100); "
            + (most >= 2 ? "use at most \(most) shards" : "build in one process (cluster.mode single) or on one shard")
    }
}
