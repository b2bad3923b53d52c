/// The cluster coordinator: partitioning, the job server, leases and the shard merge.
/// Only its namespace exists so far; the cluster runtime is tracked as its own issue.
public enum Coordinator {}
