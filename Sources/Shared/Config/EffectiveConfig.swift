import Foundation

/// A configuration value in the configuration file's own shape: the run metadata records the
/// effective configuration (every key, defaults filled in) as one of these, and written back as
/// YAML it configures the same run.
public indirect enum ConfigValue: Equatable, Sendable, Codable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list([ConfigValue])
    /// Keys in the configuration file's order.
    case map([Entry])

    public struct Entry: Equatable, Sendable {
        public var key: String
        public var value: ConfigValue
        public init(_ key: String, _ value: ConfigValue) {
            self.key = key
            self.value = value
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        switch self {
        case .map(let entries):
            var c = encoder.container(keyedBy: Key.self)
            for e in entries { try c.encode(e.value, forKey: Key(stringValue: e.key)) }
        case .list(let items):
            var c = encoder.unkeyedContainer()
            for i in items { try c.encode(i) }
        default:
            var c = encoder.singleValueContainer()
            switch self {
            case .null: try c.encodeNil()
            case .bool(let b): try c.encode(b)
            case .int(let i): try c.encode(i)
            case .double(let d): try c.encode(d)
            case .string(let s): try c.encode(s)
            default: break
            }
        }
    }

    public init(from decoder: Decoder) throws {
        if let c = try? decoder.container(keyedBy: Key.self) {
            self = .map(try c.allKeys.sorted { $0.stringValue < $1.stringValue }.map { Entry($0.stringValue, try c.decode(ConfigValue.self, forKey: $0)) })
            return
        }
        if var c = try? decoder.unkeyedContainer() {
            var items: [ConfigValue] = []
            while !c.isAtEnd { items.append(try c.decode(ConfigValue.self)) }
            self = .list(items)
            return
        }
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) } else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    /// Block-style YAML; strings are written as JSON strings (valid YAML), so no value is reinterpreted.
    public func yaml() -> String {
        var out = ""
        func scalar(_ v: ConfigValue) -> String {
            switch v {
            case .null: return "null"
            case .bool(let b): return b ? "true" : "false"
            case .int(let i): return String(i)
            case .double(let d): return d == d.rounded() && abs(d) < 1e15 ? String(format: "%.1f", d) : "\(d)"
            case .string(let s): return jsonQuoted(s)
            case .list(let items): return "[" + items.map(scalar).joined(separator: ", ") + "]"
            case .map(let entries): return "{" + entries.map { "\(jsonQuoted($0.key)): \(scalar($0.value))" }.joined(separator: ", ") + "}"
            }
        }
        func emit(_ entries: [Entry], indent: String) {
            for e in entries {
                if case .map(let inner) = e.value, !inner.isEmpty {
                    out += "\(indent)\(e.key):\n"
                    emit(inner, indent: indent + "  ")
                } else {
                    out += "\(indent)\(e.key): \(scalar(e.value))\n"
                }
            }
        }
        if case .map(let entries) = self { emit(entries, indent: "") } else { out = scalar(self) + "\n" }
        return out
    }

    func jsonQuoted(_ s: String) -> String { ParquetJSON.quoted(s) }
}

extension TrainerConfig {
    /// The effective configuration in the file's shape: every key, defaults filled in.
    public var effective: ConfigValue {
        func s(_ v: String) -> ConfigValue { .string(v) }
        func opt(_ v: String?) -> ConfigValue { v.map { .string($0) } ?? .null }
        func names(_ v: [String]) -> ConfigValue { .list(v.map { .string($0) }) }
        typealias E = ConfigValue.Entry
        var clusterEntries: [E] = [
            E("mode", s(cluster.mode)), E("shards", { if case .fixed(let n) = cluster.shards { return .int(n) }; return s("auto") }()), E("workers", .int(cluster.workers)),
            E("worker_threads", .int(cluster.workerThreads)), E("listen", s(cluster.listen)), E("token_env", s(cluster.tokenEnv)),
            E("token_file", opt(cluster.tokenFile)), E("lease_seconds", .double(cluster.leaseSeconds)),
            E("refine", .map([E("epsilon", .double(cluster.refineEpsilon)), E("max_shards", .int(cluster.refineMaxShards)),
                              E("k", .int(cluster.refineK)), E("ef", .int(cluster.refineEf))])),
            E("work_dir", opt(cluster.workDir)),
        ]
        if cluster.tlsCert != nil || cluster.tlsKey != nil {
            clusterEntries.append(E("tls", .map([E("cert", opt(cluster.tlsCert)), E("key", opt(cluster.tlsKey))])))
        }
        return .map([
            E("seed", .int(seed)), E("model_version", s(modelVersion)),
            E("input", .map([E("features", s(input.features)), E("item_metadata", opt(input.itemMetadata)), E("id_column", s(input.idColumn))])),
            E("features", .map([E("numeric", names(features.numeric)), E("log_transform", names(features.logTransform)),
                                E("onehot", names(features.onehot)), E("target_encode", names(features.targetEncode)),
                                E("target", opt(features.target))])),
            E("cleaning", .map([E("numeric_missing", s(cleaning.numericMissing)), E("outliers", s(cleaning.outliers)),
                                E("iqr_k", .double(cleaning.iqrK))])),
            E("scaling", s(scaling)),
            E("onehot", .map([E("min_frequency", onehot.minFrequency.map { .double($0) } ?? .null),
                              E("max_categories", onehot.maxCategories.map { .int($0) } ?? .null)])),
            E("target_encoding", .map([E("smooth", targetEncoding.smooth.map { .double($0) } ?? s("auto")), E("cv", .int(targetEncoding.cv))])),
            E("weighting", .map([E("item_weight_column", opt(weighting.itemWeightColumn)), E("domain_column", opt(weighting.domainColumn)),
                                 E("domain_weights", .map(weighting.domainWeights.sorted { $0.key < $1.key }.map { E($0.key, .double($0.value)) })),
                                 E("default_domain_weight", .double(weighting.defaultDomainWeight)),
                                 E("sample_weight_fit", .bool(weighting.sampleWeightFit)), E("scale_rows", .bool(weighting.scaleRows))])),
            E("index", .map([E("space", s(index.space)), E("M", .int(index.M)), E("ef_construction", .int(index.efConstruction)),
                             E("ef_search", .int(index.efSearch)), E("threads", .int(index.threads))])),
            E("cluster", .map(clusterEntries)),
            E("export", .map([E("output_dir", s(export.outputDir)), E("log_dir", s(export.logDir)), E("numpy", .bool(export.numpy)),
                              E("tensorboard", .map([E("enabled", .bool(export.tensorboard.enabled)),
                                                     E("embedding_name", s(export.tensorboard.embeddingName)),
                                                     E("metadata_columns", names(export.tensorboard.metadataColumns)),
                                                     E("max_points", .int(export.tensorboard.maxPoints))]))])),
            E("incremental", .map([E("delete_missing", .bool(incrementalDeleteMissing))])),
            E("quality", .map([E("sample_size", .int(quality.sampleSize)), E("ef", .list(quality.ef.map { .int($0) })),
                               E("max_drift", quality.maxDrift.map { .double($0) } ?? .null)])),
        ])
    }
}
