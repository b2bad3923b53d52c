import Foundation
import HNSW
import Yams

/// The trainer's configuration (`config/trainer.yml`). Unknown keys, missing keys, wrong types and
/// contradictions are `ConfigError`s that name the key.
public struct TrainerConfig: Codable, Equatable, Sendable {
    public struct Input: Codable, Equatable, Sendable {
        public var features: String
        public var itemMetadata: String?
        public var idColumn: String
    }

    public struct Features: Codable, Equatable, Sendable {
        public var numeric: [String]
        public var logTransform: [String]
        public var onehot: [String]
        public var targetEncode: [String]
        public var target: String?
    }

    public struct Cleaning: Codable, Equatable, Sendable {
        public var numericMissing: String
        public var outliers: String
        public var iqrK: Double
    }

    public struct OneHot: Codable, Equatable, Sendable {
        /// An absolute count (≥ 1) or, below 1, a fraction of the rows; nil = off.
        public var minFrequency: Double?
        public var maxCategories: Int?
    }

    public struct TargetEncoding: Codable, Equatable, Sendable {
        /// nil = "auto".
        public var smooth: Double?
        public var cv: Int
    }

    public struct Weighting: Codable, Equatable, Sendable {
        public var itemWeightColumn: String?
        public var domainColumn: String?
        public var domainWeights: [String: Double]
        public var defaultDomainWeight: Double
        public var sampleWeightFit: Bool
        public var scaleRows: Bool
    }

    public struct Index: Codable, Equatable, Sendable {
        public var space: String
        public var M: Int
        public var efConstruction: Int
        public var efSearch: Int
        public var threads: Int
    }

    public struct Cluster: Codable, Equatable, Sendable {
        /// single (threads in this process), local (worker child processes over ipc://) or
        /// cluster (listen for `trainer worker` processes on other machines).
        public var mode: String
        /// `auto` follows the catalog's size (`ShardLimits.targetItemsPerShard` items per shard).
        public var shards: ShardCount
        public var workers: Int
        /// Threads per local worker; 0 shares the cores among the workers.
        public var workerThreads: Int
        public var listen: String
        public var tokenEnv: String
        /// A file holding the token (a mounted secret); takes precedence over `tokenEnv`.
        public var tokenFile: String?
        public var leaseSeconds: Double
        /// Where completed shard results are kept for `--resume`; default `<output_dir>/cluster-work`.
        public var workDir: String?
        public var tlsCert: String?
        public var tlsKey: String?
        /// Phase-2 refinement: ε, other shards per element, candidates and beam of each search.
        public var refineEpsilon: Double
        public var refineMaxShards: Int
        public var refineK: Int
        public var refineEf: Int
    }

    public struct TensorBoard: Codable, Equatable, Sendable {
        public var enabled: Bool
        public var embeddingName: String
        public var metadataColumns: [String]
        public var maxPoints: Int
    }

    public struct Export: Codable, Equatable, Sendable {
        public var outputDir: String
        public var logDir: String
        public var numpy: Bool
        public var tensorboard: TensorBoard
    }

    public var seed: Int
    public var modelVersion: String
    public var input: Input
    public var features: Features
    public var cleaning: Cleaning
    public var scaling: String
    public var onehot: OneHot
    public var targetEncoding: TargetEncoding
    public var weighting: Weighting
    public var index: Index
    public var cluster: Cluster
    public var export: Export
    public var incrementalDeleteMissing: Bool
    public var quality: Quality

    /// What every run measures about its own output (the `quality` section of the metadata).
    public struct Quality: Codable, Equatable, Sendable {
        /// Live items sampled as queries (fewer when the catalog is smaller).
        public var sampleSize: Int
        /// The ef values recall@10 is measured at; `index.ef_search` is always added.
        public var ef: [Int]
        /// The largest drift (1 − mean top-10 neighbour overlap of the sampled items against the
        /// previous model) a run may have and still be committed; nil = no limit.
        public var maxDrift: Double?
    }

    /// Reads and validates a YAML file.
    public static func load(path: String) throws -> TrainerConfig {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError(path: path, key: "", message: "cannot read the configuration file")
        }
        return try parse(yaml: text, path: path)
    }

    /// Parses and validates YAML text; `path` names it in errors.
    public static func parse(yaml text: String, path: String) throws -> TrainerConfig {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch {
            throw ConfigError(path: path, key: "", message: "not valid YAML: \(error)")
        }
        var top = try ConfigMapping(file: path, prefix: "", node: root)
        // Unknown top-level keys first: a misspelt section ("inputs") would otherwise be reported
        // as its required keys missing.
        let sections = ["seed", "model_version", "input", "features", "cleaning", "scaling", "onehot", "target_encoding",
                        "weighting", "index", "cluster", "export", "incremental", "quality"]
        for key in top.keys where !sections.contains(key) {
            throw ConfigError(path: path, key: key, message: "unknown key (known here: \(sections.sorted().joined(separator: ", ")))")
        }
        let seed = try top.int("seed", default: 42, min: 0)
        let modelVersion = try top.string("model_version", default: "1.0.0")

        var inp = try top.child("input")
        let input = Input(features: try inp.path("features", default: nil), itemMetadata: try inp.optionalPath("item_metadata"),
                          idColumn: try inp.string("id_column", default: "item_id"))
        try inp.rejectUnknown()

        guard top.has("features") else { throw ConfigError(path: path, key: "features", message: "is required") }
        var f = try top.child("features")
        let features = Features(numeric: try f.strings("numeric"), logTransform: try f.strings("log_transform"),
                                onehot: try f.strings("onehot"), targetEncode: try f.strings("target_encode"),
                                target: try f.optionalString("target"))
        try f.rejectUnknown()

        var c = try top.child("cleaning")
        let cleaning = Cleaning(numericMissing: try c.choice("numeric_missing", ["median", "mean", "zero"], default: "median"),
                                outliers: try c.choice("outliers", ["iqr", "none"], default: "iqr"),
                                iqrK: try c.double("iqr_k", default: 1.5, above: 0))
        try c.rejectUnknown()
        let scaling = try top.choice("scaling", ["standard", "robust", "minmax", "none"], default: "standard")

        var o = try top.child("onehot")
        var minFrequency: Double?
        if o.has("min_frequency") {
            let v = try o.double("min_frequency", default: -1, above: 0)
            minFrequency = v < 0 ? nil : v
            if let m = minFrequency, m > 1, m != m.rounded() {
                throw o.fail("min_frequency", "must be a fraction below 1 or a whole count, got \(m)")
            }
        }
        var maxCategories: Int?
        if o.has("max_categories"), o.node("max_categories") != nil {
            maxCategories = try o.int("max_categories", default: 0, min: 2)
        }
        try o.rejectUnknown()

        var t = try top.child("target_encoding")
        var smooth: Double?
        if let s = t.node("smooth"), s.string != "auto" {
            smooth = try t.double("smooth", default: 0, min: 0)
        }
        let targetEncoding = TargetEncoding(smooth: smooth, cv: try t.int("cv", default: 5, min: 2))
        try t.rejectUnknown()

        var w = try top.child("weighting")
        let weighting = Weighting(itemWeightColumn: try w.optionalString("item_weight_column"),
                                  domainColumn: try w.optionalString("domain_column"),
                                  domainWeights: try w.numberMap("domain_weights"),
                                  defaultDomainWeight: try w.double("default_domain_weight", default: 1, min: 0),
                                  sampleWeightFit: try w.bool("sample_weight_fit", default: true),
                                  scaleRows: try w.bool("scale_rows", default: false))
        try w.rejectUnknown()

        var ix = try top.child("index")
        let index = Index(space: try ix.choice("space", ["cosine", "ip", "l2"], default: "cosine"),
                          M: try ix.int("M", default: 32, in: ParameterLimits.M),
                          efConstruction: try ix.int("ef_construction", default: 200, in: ParameterLimits.efConstruction),
                          efSearch: try ix.int("ef_search", default: 100, in: ParameterLimits.efSearch), threads: try ix.int("threads", default: 0, min: 0))
        try ix.rejectUnknown()

        var cl = try top.child("cluster")
        var tls = try cl.child("tls")
        var rf = try cl.child("refine")
        let cluster = Cluster(mode: try cl.choice("mode", ["single", "local", "cluster"], default: "single"),
                              shards: try cl.shardCount("shards", default: .automatic), workers: try cl.int("workers", default: 2, min: 1),
                              workerThreads: try cl.int("worker_threads", default: 0, min: 0),
                              listen: try cl.string("listen", default: "tcp://0.0.0.0:7700"),
                              tokenEnv: try cl.string("token_env", default: "TRAINER_CLUSTER_TOKEN"),
                              tokenFile: try cl.optionalPath("token_file"),
                              leaseSeconds: try cl.double("lease_seconds", default: 60, above: 0),
                              workDir: try cl.optionalPath("work_dir"),
                              tlsCert: try tls.optionalPath("cert"), tlsKey: try tls.optionalPath("key"),
                              refineEpsilon: try rf.double("epsilon", default: RefineDefaults.epsilon, min: 0),
                              refineMaxShards: try rf.int("max_shards", default: RefineDefaults.maxShards, in: RefineLimits.maxShardsSetting),
                              refineK: try rf.int("k", default: RefineDefaults.k, in: RefineLimits.k),
                              refineEf: try rf.int("ef", default: RefineDefaults.ef, in: RefineLimits.ef))
        try tls.rejectUnknown()
        try rf.rejectUnknown()
        try cl.rejectUnknown()
        if cluster.listen.hasPrefix("tls+"), cluster.mode == "cluster", cluster.tlsCert == nil || cluster.tlsKey == nil {
            throw ConfigError(path: path, key: "cluster.tls", message: "listen is \(cluster.listen), so cluster.tls.cert and cluster.tls.key must name the PEM files")
        }

        var ex = try top.child("export")
        var tb = try ex.child("tensorboard")
        let tensorboard = TensorBoard(enabled: try tb.bool("enabled", default: true),
                                      embeddingName: try tb.string("embedding_name", default: "routing_candidates"),
                                      metadataColumns: try tb.strings("metadata_columns"),
                                      maxPoints: try tb.int("max_points", default: 100_000, min: 1))
        try tb.rejectUnknown()
        let export = Export(outputDir: try ex.path("output_dir", default: "models"), logDir: try ex.path("log_dir", default: "logs"),
                            numpy: try ex.bool("numpy", default: true), tensorboard: tensorboard)
        try ex.rejectUnknown()

        var inc = try top.child("incremental")
        let deleteMissing = try inc.bool("delete_missing", default: true)
        try inc.rejectUnknown()

        var q = try top.child("quality")
        let efs = try q.ints("ef", default: [10, 20, 50, 100, 200], in: ParameterLimits.efSearch)
        guard !efs.isEmpty else { throw q.fail("ef", "lists no ef values; give at least one, e.g. [10, 50, 100]") }
        var maxDrift: Double?
        if q.node("max_drift") != nil {
            maxDrift = try q.double("max_drift", default: 0, min: 0, max: 1, meaning: " (1 − mean top-10 overlap)")
        }
        let quality = Quality(sampleSize: try q.int("sample_size", default: 1000, in: 1...1_000_000), ef: efs, maxDrift: maxDrift)
        try q.rejectUnknown()
        try top.rejectUnknown()

        let config = TrainerConfig(seed: seed, modelVersion: modelVersion, input: input, features: features, cleaning: cleaning,
                                   scaling: scaling, onehot: OneHot(minFrequency: minFrequency, maxCategories: maxCategories),
                                   targetEncoding: targetEncoding, weighting: weighting, index: index, cluster: cluster,
                                   export: export, incrementalDeleteMissing: deleteMissing, quality: quality)
        try config.checkRoles(path: path)
        return config
    }

    /// Cross-key rules: one transform per feature column (the target may also be numeric),
    /// log_transform ⊆ numeric, a target when encoding.
    func checkRoles(path: String) throws {
        func fail(_ key: String, _ m: String) -> ConfigError { ConfigError(path: path, key: key, message: m) }
        var role: [String: String] = [:]
        for (list, name) in [(features.numeric, "features.numeric"), (features.onehot, "features.onehot"),
                             (features.targetEncode, "features.target_encode")] {
            for col in list {
                if let other = role[col] { throw fail(name, "column '\(col)' is already listed in \(other)") }
                if col == input.idColumn { throw fail(name, "column '\(col)' is the id column (input.id_column)") }
                role[col] = name
            }
        }
        for col in features.logTransform where !features.numeric.contains(col) {
            throw fail("features.log_transform", "column '\(col)' is not in features.numeric, so it cannot be log-transformed")
        }
        if let target = features.target {
            // The target may also be a numeric feature (as scikit-learn's ColumnTransformer allows);
            // encoding the target's own categories against itself would leak it.
            if let other = role[target], other != "features.numeric" {
                throw fail("features.target", "column '\(target)' is also listed in \(other); a target can also be in features.numeric, not in a categorical role")
            }
            if target == input.idColumn { throw fail("features.target", "column '\(target)' is the id column") }
        } else if !features.targetEncode.isEmpty {
            throw fail("features.target", "is required when features.target_encode lists columns")
        }
        if features.numeric.isEmpty && features.onehot.isEmpty && features.targetEncode.isEmpty {
            throw fail("features", "lists no feature columns (numeric, onehot or target_encode)")
        }
        // The id column is the join key; it is not loaded as a value column for any role.
        for (key, col) in [("weighting.item_weight_column", weighting.itemWeightColumn), ("weighting.domain_column", weighting.domainColumn)]
            where col == input.idColumn {
            throw fail(key, "column '\(input.idColumn)' is the id column (input.id_column); name a value column")
        }
        if weighting.scaleRows && index.space == "cosine" {
            throw fail("weighting.scale_rows", "cannot be used with index.space cosine: scaling a row does not change its cosine similarity; use ip or l2")
        }
    }
}
