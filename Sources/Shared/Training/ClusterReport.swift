/// What a cluster build did; it goes into training_metadata.json (`cluster`).
public struct ClusterReport: Codable, Sendable, Equatable {
    public var mode = ""
    public var shards = 0
    public var shardSizes: [Int] = []
    /// S × dim k-means centroids, row-major.
    public var centroids: [Float] = []
    public var planFingerprint = ""
    /// ε, shards per element, k and ef of the cross-shard refinement.
    public var refinement = ""
    /// Elements refined in phase 2 (their centroid distances were within 1 + ε).
    public var boundaryElements = 0
    public var workers = 0
    public var jobsRun = 0
    public var resumedJobs = 0
    public var retries = 0
    public var rejectedMessages = 0
    public var jobsPerWorker: [String: Int] = [:]
    /// Time each worker reported per shard build and per refinement (0 for jobs taken from the work folder).
    public var shardBuildSeconds: [Double] = []
    public var refineSeconds: [Double] = []
    public var planSeconds = 0.0
    public var serveSeconds = 0.0
    public var mergeLevelZeroSeconds = 0.0
    public var mergeUpperSeconds = 0.0
    public var mergeRepairSeconds = 0.0
    /// CPU seconds (user + system) of the coordinator process itself over the build.
    public var coordinatorCPUSeconds = 0.0
    public var reverseOffers = 0
    public var orphansRepaired = 0

    public init() {}
}
