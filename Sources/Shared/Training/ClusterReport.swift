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
    /// Results kept although the attempt that sent them had lost its lease (the job was still open).
    public var lateResults = 0
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

    enum CodingKeys: String, CodingKey {
        case mode, shards, shardSizes = "shard_sizes", centroids, planFingerprint = "plan_fingerprint", refinement, boundaryElements = "boundary_elements", workers, jobsRun = "jobs_run", resumedJobs = "resumed_jobs", retries, lateResults = "late_results", rejectedMessages = "rejected_messages", jobsPerWorker = "jobs_per_worker", shardBuildSeconds = "shard_build_seconds", refineSeconds = "refine_seconds", planSeconds = "plan_seconds", serveSeconds = "serve_seconds", mergeLevelZeroSeconds = "merge_level_zero_seconds", mergeUpperSeconds = "merge_upper_seconds", mergeRepairSeconds = "merge_repair_seconds", coordinatorCPUSeconds = "coordinator_cpu_seconds", reverseOffers = "reverse_offers", orphansRepaired = "orphans_repaired"
    }
}
