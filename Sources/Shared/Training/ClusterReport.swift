/// What a cluster build did; it goes into training_metadata.json.
public struct ClusterReport: Codable, Sendable, Equatable {
    public init(mode: String, shards: Int, shardSizes: [Int], planFingerprint: String, workers: Int, jobsRun: Int, resumedShards: [Int],
                retries: Int, rejectedMessages: Int, jobsPerWorker: [String: Int], shardBuildSeconds: [Double], serveSeconds: Double,
                mergeLevelZeroSeconds: Double, mergeUpperSeconds: Double, mergeRepairSeconds: Double, crossSearches: Int, orphansRepaired: Int) {
        self.mode = mode; self.shards = shards; self.shardSizes = shardSizes; self.planFingerprint = planFingerprint
        self.workers = workers; self.jobsRun = jobsRun; self.resumedShards = resumedShards; self.retries = retries
        self.rejectedMessages = rejectedMessages; self.jobsPerWorker = jobsPerWorker; self.shardBuildSeconds = shardBuildSeconds
        self.serveSeconds = serveSeconds; self.mergeLevelZeroSeconds = mergeLevelZeroSeconds; self.mergeUpperSeconds = mergeUpperSeconds
        self.mergeRepairSeconds = mergeRepairSeconds; self.crossSearches = crossSearches; self.orphansRepaired = orphansRepaired
    }

    public var mode: String
    public var shards: Int
    public var shardSizes: [Int]
    public var planFingerprint: String
    public var workers: Int
    public var jobsRun: Int
    public var resumedShards: [Int]
    public var retries: Int
    public var rejectedMessages: Int
    public var jobsPerWorker: [String: Int]
    /// Build time each worker reported per shard (0 for shards taken from the work folder).
    public var shardBuildSeconds: [Double]
    public var serveSeconds: Double
    public var mergeLevelZeroSeconds: Double
    public var mergeUpperSeconds: Double
    public var mergeRepairSeconds: Double
    public var crossSearches: Int
    public var orphansRepaired: Int
}

