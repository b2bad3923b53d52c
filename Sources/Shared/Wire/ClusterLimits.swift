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
    /// The `max_shards` a configuration or command line may set: at least one, since without any
    /// cross-shard search the shards' graphs stay apart on level 0 and only the reachability repair
    /// joins them, with one link into each part that level 0 does not reach.
    public static let maxShardsSetting: ClosedRange<Int> = 1...255
}

/// The refinement settings a build uses when the configuration and the command line name none; the
/// configuration, the command line and the coordinator's `RefineSettings` all default to these.
/// Chosen at the default M = 32 on random normal data (docs/decisions.md, "Merging shard graphs").
public enum RefineDefaults {
    /// An element is refined against shards whose centroid is within (1 + ε) of its own shard's.
    public static let epsilon = 0.05
    /// Other shards searched per refined element.
    public static let maxShards = 4
    /// Candidates kept from each cross-shard search.
    public static let k = 8
    /// Beam width of each cross-shard search.
    public static let ef = 16
}

/// How many shards a cluster build makes: a fixed count, or one that follows the catalog's size.
public enum ShardCount: Sendable, Equatable, Codable, CustomStringConvertible {
    /// About `ShardLimits.targetItemsPerShard` items per shard.
    case automatic
    case fixed(Int)

    /// "auto" or a count within `ShardLimits.count`.
    public init?(_ text: String) {
        if text == "auto" { self = .automatic; return }
        guard let n = Int(text), ShardLimits.count.contains(n) else { return nil }
        self = .fixed(n)
    }

    public var description: String {
        switch self {
        case .automatic: "auto"
        case .fixed(let n): "\(n)"
        }
    }

    /// The shard count for `items` items at this `M`.
    public func resolve(items: Int, M: Int) -> Int {
        switch self {
        case .fixed(let n): return n
        case .automatic:
            let wanted = (items + ShardLimits.targetItemsPerShard - 1) / ShardLimits.targetItemsPerShard
            return max(1, min(wanted, items / ShardLimits.minimumItemsPerShard(M: M), ShardLimits.count.upperBound))
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self), let v = ShardCount("\(n)") { self = v; return }
        guard let v = ShardCount(try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected auto or a shard count")
        }
        self = v
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .automatic: try c.encode("auto")
        case .fixed(let n): try c.encode(n)
        }
    }
}

/// Ranges of the shard plan.
public enum ShardLimits {
    /// Shards per build (a refinement message ships at most this many).
    public static let count: ClosedRange<Int> = 1...65_536

    /// Items per shard that `shards: auto` aims at: a shard then builds in a few minutes on one
    /// worker thread and its job message stays far below the cap (docs/decisions.md).
    public static let targetItemsPerShard = 500_000

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
