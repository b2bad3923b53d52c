/// The cluster worker loop: connect, pull a job, build or refine a shard graph, send it back.
/// Only its namespace exists so far; the cluster runtime is tracked as its own issue.
public enum Worker {}
