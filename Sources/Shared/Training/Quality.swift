import Dispatch
import Foundation
import HNSW

/// A run stopped by its quality limit (`quality.max_drift`): exit code 4. Nothing was committed.
public struct QualityGateError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// What a run measures about its own output: `quality` in training_metadata.json. Every number
/// depends only on the artifacts and the seed (the sample is chosen by a hash of item id and seed),
/// except `drift`, which compares with the model found in the output folder.
public struct QualityReport: Codable, Sendable, Equatable {
    /// recall@k of the index at one ef, against exact search over the live items.
    public struct RecallPoint: Codable, Sendable, Equatable {
        public var ef: Int
        public var recall: Double
    }

    /// One output column of the vectors, over the live items.
    public struct ColumnStats: Codable, Sendable, Equatable {
        public var name: String
        public var mean: Double
        /// Population standard deviation (ddof 0).
        public var std: Double
        /// Share of live items whose value is exactly 0.
        public var zeroShare: Double

        enum CodingKeys: String, CodingKey { case name, mean, std, zeroShare = "zero_share" }
    }

    /// Counts per bin; bin i is [edges[i], edges[i+1]), the last bin closed.
    public struct Histogram: Codable, Sendable, Equatable {
        public var edges: [Double]
        public var counts: [Int]
    }

    /// The k-nearest similarities of the sampled items (the item itself left out), by exact search.
    public struct Similarity: Codable, Sendable, Equatable {
        /// cosine_similarity (cosine), inner_product (ip) or l2_squared_distance (l2).
        public var measure: String
        public var count: Int
        public var mean: Double
        /// numpy's default (linear) quantiles at `QualityReport.quantileLevels`.
        public var quantiles: [Double]
        public var histogram: Histogram
    }

    public struct Layer: Codable, Sendable, Equatable {
        public var layer: Int
        public var nodes: Int
        public var minDegree: Int
        public var meanDegree: Double
        public var maxDegree: Int

        enum CodingKeys: String, CodingKey {
            case layer, nodes, minDegree = "min_degree", meanDegree = "mean_degree", maxDegree = "max_degree"
        }
    }

    public struct Graph: Codable, Sendable, Equatable {
        public var elements: Int
        public var deleted: Int
        public var layers: [Layer]
        /// Elements per layer-0 degree (index = degree).
        public var levelZeroDegreeHistogram: [Int]
        public var reachableFromEntry: Int
        /// reachable_from_entry / elements (deleted elements included on both sides).
        public var reachableShare: Double
        /// Live elements reachable from the entry point: the items a search can return.
        public var liveReachable: Int
        /// live_reachable / (elements − deleted).
        public var liveReachableShare: Double

        enum CodingKeys: String, CodingKey {
            case elements, deleted, layers, levelZeroDegreeHistogram = "level_zero_degree_histogram",
                 reachableFromEntry = "reachable_from_entry", reachableShare = "reachable_share",
                 liveReachable = "live_reachable", liveReachableShare = "live_reachable_share"
        }
    }

    public struct ItemOverlap: Codable, Sendable, Equatable {
        public var itemId: String
        public var overlap: Double
        enum CodingKeys: String, CodingKey { case itemId = "item_id", overlap }
    }

    /// The comparison with the model the output folder held before this run.
    public struct Drift: Codable, Sendable, Equatable {
        /// SHA-256 of the previous index file, from its metadata.
        public var previousModel: String?
        public var previousStartedAt: String?
        /// Live now but not in the previous model (new or revived ids).
        public var added: Int
        /// Live in both, with a different input fingerprint (item_state.tsv).
        public var changed: Int
        /// Live in the previous model, not now.
        public var removed: Int
        /// Sampled items that were also sampled by the previous run (their neighbours are compared).
        public var comparedItems: Int
        /// Mean over the compared items of |top-k now ∩ top-k before| / k (by item id).
        public var meanOverlap: Double?
        /// 1 − mean_overlap: what `quality.max_drift` limits.
        public var drift: Double?
        public var maxDrift: Double?
        public var overlapQuantiles: [Double]?
        /// The compared items with the lowest overlap (at most 5), lowest first.
        public var lowestOverlap: [ItemOverlap]
        public var previousSimilarityMean: Double?
        public var previousSimilarityQuantiles: [Double]?
        /// Current minus previous, per quantile level.
        public var similarityQuantileChange: [Double]?
        /// Both runs' similarities on shared bins (the range of both).
        public var histogramEdges: [Double]?
        public var currentCounts: [Int]?
        public var previousCounts: [Int]?
        /// Why the neighbour comparison is missing, when it is.
        public var note: String?

        /// From this many compared items up, the drift is not flagged as resting on few items.
        public static let preciseFrom = 100

        /// `value` with as many decimals as it takes (at least 4) to read differently from `limit`,
        /// so a message never says a drift "0.1000" exceeds a limit of 0.1.
        public static func distinct(_ value: Double, from limit: Double) -> String {
            for digits in 4...12 {
                let v = String(format: "%.\(digits)f", value)
                if v != String(format: "%.\(digits)f", limit) { return v }
            }
            return "\(value)"
        }

        enum CodingKeys: String, CodingKey {
            case previousModel = "previous_model", previousStartedAt = "previous_started_at", added, changed, removed,
                 comparedItems = "compared_items", meanOverlap = "mean_overlap", drift, maxDrift = "max_drift",
                 overlapQuantiles = "overlap_quantiles", lowestOverlap = "lowest_overlap",
                 previousSimilarityMean = "previous_similarity_mean", previousSimilarityQuantiles = "previous_similarity_quantiles",
                 similarityQuantileChange = "similarity_quantile_change", histogramEdges = "histogram_edges",
                 currentCounts = "current_counts", previousCounts = "previous_counts", note
        }

        // Every key is written, null when absent, so readers need not test for presence.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(previousModel, forKey: .previousModel)
            try c.encode(previousStartedAt, forKey: .previousStartedAt)
            try c.encode(added, forKey: .added)
            try c.encode(changed, forKey: .changed)
            try c.encode(removed, forKey: .removed)
            try c.encode(comparedItems, forKey: .comparedItems)
            try c.encode(meanOverlap, forKey: .meanOverlap)
            try c.encode(drift, forKey: .drift)
            try c.encode(maxDrift, forKey: .maxDrift)
            try c.encode(overlapQuantiles, forKey: .overlapQuantiles)
            try c.encode(lowestOverlap, forKey: .lowestOverlap)
            try c.encode(previousSimilarityMean, forKey: .previousSimilarityMean)
            try c.encode(previousSimilarityQuantiles, forKey: .previousSimilarityQuantiles)
            try c.encode(similarityQuantileChange, forKey: .similarityQuantileChange)
            try c.encode(histogramEdges, forKey: .histogramEdges)
            try c.encode(currentCounts, forKey: .currentCounts)
            try c.encode(previousCounts, forKey: .previousCounts)
            try c.encode(note, forKey: .note)
        }
    }

    /// What the graph section says is wrong with the index, one phrase each; empty for a healthy one.
    /// A level 0 that the entry point cannot reach loses those items from every search, which
    /// happens when most vectors coincide (a degenerate catalog or pipeline).
    public func graphWarnings() -> [String] {
        var out: [String] = []
        let live = graph.elements - graph.deleted
        if live <= k {
            out.append("only \(live) live item\(live == 1 ? "" : "s"): each has fewer than \(k) neighbours, so the recall and "
                       + "similarity figures say little" + (similarity.count == 0 ? " (no similarity was measured; its figures are 0)" : ""))
        }
        if live > 1, graph.liveReachableShare < Self.reachableWarning {
            out.append("only \(graph.liveReachable) of \(live) live items (\(String(format: "%.1f", graph.liveReachableShare * 100))%) "
                       + "are reachable from the entry point on level 0; searches never return the others")
        }
        if live > 1, duplicateShare >= Self.duplicateWarning {
            out.append("\(String(format: "%.1f", duplicateShare * 100))% of the live items repeat another item's vector exactly; "
                       + "check that the feature columns tell the items apart")
        }
        return out
    }

    /// Below this share of level 0 reachable from the entry point, the run warns.
    public static let reachableWarning = 0.99
    /// From this share of exact duplicate vectors up, the run warns.
    public static let duplicateWarning = 0.5

    /// The quantile levels of every quantile list in the report.
    public static let quantileLevels: [Double] = [0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 1]
    /// Neighbours per query.
    public static let k = 10
    static let histogramBins = 40

    public var sampleSize: Int
    public var sampleSeed: Int
    public var k: Int
    public var quantileLevels: [Double]
    /// Sorted by ef; includes `ef_search`.
    public var recall: [RecallPoint]
    public var efSearch: Int
    public var recallAtEfSearch: Double
    /// The smallest measured ef whose recall reaches 0.95 / 0.99; nil when none does.
    public var efForRecall95: Int?
    public var efForRecall99: Int?
    public var columns: [ColumnStats]
    public var zeroVarianceColumns: [String]
    public var similarity: Similarity
    /// (live items − distinct live vectors) / live items, vectors compared bit for bit (−0 = 0).
    public var duplicateShare: Double
    public var graph: Graph
    /// nil when the output folder held no model before this run.
    public var drift: Drift?

    enum CodingKeys: String, CodingKey {
        case sampleSize = "sample_size", sampleSeed = "sample_seed", k, quantileLevels = "quantile_levels", recall,
             efSearch = "ef_search", recallAtEfSearch = "recall_at_ef_search", efForRecall95 = "ef_for_recall_0_95",
             efForRecall99 = "ef_for_recall_0_99", columns, zeroVarianceColumns = "zero_variance_columns", similarity,
             duplicateShare = "duplicate_share", graph, drift
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sampleSize, forKey: .sampleSize)
        try c.encode(sampleSeed, forKey: .sampleSeed)
        try c.encode(k, forKey: .k)
        try c.encode(quantileLevels, forKey: .quantileLevels)
        try c.encode(recall, forKey: .recall)
        try c.encode(efSearch, forKey: .efSearch)
        try c.encode(recallAtEfSearch, forKey: .recallAtEfSearch)
        try c.encode(efForRecall95, forKey: .efForRecall95)
        try c.encode(efForRecall99, forKey: .efForRecall99)
        try c.encode(columns, forKey: .columns)
        try c.encode(zeroVarianceColumns, forKey: .zeroVarianceColumns)
        try c.encode(similarity, forKey: .similarity)
        try c.encode(duplicateShare, forKey: .duplicateShare)
        try c.encode(graph, forKey: .graph)
        try c.encode(drift, forKey: .drift)
    }
}

/// One sampled item of a run with its exact neighbours: a line of `quality_sample.tsv`, which the
/// next run reads to measure drift.
public struct SampledItem: Sendable, Equatable {
    public var label: Int
    public var itemId: String
    public var neighbourIds: [String]
    public var similarities: [Double]
}

/// Computes the quality section of a run.
public enum QualityMeasure {
    /// The sampled labels: the `size` live labels with the smallest hash of (item id, seed), in that
    /// order. The hash depends on the id, not the label, so consecutive runs over a slowly changing
    /// catalog sample mostly the same items, whose neighbourhoods the drift compares.
    public static func sample(ids: [String], deleted: [Bool], size: Int, seed: Int) -> [Int] {
        // The `size` smallest (hash, label) pairs: a max-heap of them, as most labels lose at once.
        var kept: [(UInt64, Int)] = []
        kept.reserveCapacity(size + 1)
        func less(_ a: (UInt64, Int), _ b: (UInt64, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        for (label, id) in ids.enumerated() where !deleted[label] {
            let e = (idHash(id, seed: seed), label)
            if kept.count == size {
                guard less(e, kept[0]) else { continue }
                kept[0] = e
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var big = i
                    if l < kept.count, less(kept[big], kept[l]) { big = l }
                    if r < kept.count, less(kept[big], kept[r]) { big = r }
                    if big == i { break }
                    kept.swapAt(i, big)
                    i = big
                }
            } else {
                kept.append(e)
                var i = kept.count - 1
                while i > 0, less(kept[(i - 1) / 2], kept[i]) {
                    kept.swapAt(i, (i - 1) / 2)
                    i = (i - 1) / 2
                }
            }
        }
        return kept.sorted(by: less).map(\.1)
    }

    static func idHash(_ id: String, seed: Int) -> UInt64 {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.finalize(h ^ (UInt64(truncatingIfNeeded: seed) &* SplitMix64.increment))
    }

    /// numpy's default ("linear") quantile of sorted values; 0 for none.
    public static func quantile(sorted a: [Double], _ q: Double) -> Double {
        guard !a.isEmpty else { return 0 }
        let pos = q * Double(a.count - 1)
        let lo = Int(pos.rounded(.down)), hi = min(lo + 1, a.count - 1)
        return a[lo] + (a[hi] - a[lo]) * (pos - Double(lo))
    }

    /// numpy.histogram(values, bins, range=(lo, hi)) with numpy's widening of an empty range.
    static func histogram(_ values: [Double], lo: Double, hi: Double, bins: Int) -> QualityReport.Histogram {
        var lo = lo, hi = hi
        if !(hi > lo) { lo -= 0.5; hi += 0.5 }
        let edges = (0...bins).map { lo + (hi - lo) * Double($0) / Double(bins) }
        var counts = [Int](repeating: 0, count: bins)
        let scale = Double(bins) / (hi - lo)
        for v in values where v >= lo && v <= hi {
            var b = min(Int(((v - lo) * scale).rounded(.down)), bins - 1)
            // The computed bin can be one off at an edge; the edges decide, as in numpy.
            if b > 0, v < edges[b] { b -= 1 } else if b < bins - 1, v >= edges[b + 1] { b += 1 }
            counts[b] += 1
        }
        return .init(edges: edges, counts: counts)
    }

    /// The similarity of a distance of `space`: 1 − d for cosine and ip, d itself for l2.
    static func similarity(_ d: Float, space: Space) -> Double { space == .l2 ? Double(d) : 1 - Double(d) }

    static func measureName(_ space: Space) -> String {
        switch space {
        case .cosine: return "cosine_similarity"
        case .ip: return "inner_product"
        case .l2: return "l2_squared_distance"
        }
    }

    /// What `measure` found, and the seconds each step took (for the log, not the metadata: the
    /// report must not depend on timing).
    public struct Measured: Sendable {
        public var report: QualityReport
        public var sample: [SampledItem]
        public var stepSeconds: [(String, Double)]
    }

    /// What the quality report takes from the raw vectors: measured before the index is built, so
    /// the vectors can be released once the index holds its copy (which cannot give them back: it
    /// keeps cosine vectors normalised).
    public struct VectorFacts: Sendable {
        /// The sampled labels and their rows, the queries of the recall and similarity measurements.
        public var sampled: [Int]
        public var queries: [Float]
        public var columns: [QualityReport.ColumnStats]
        public var zeroVarianceColumns: [String]
        public var duplicateShare: Double
        public var stepSeconds: [(String, Double)]
    }

    /// Samples the queries and measures the column statistics and duplicates of the live rows.
    /// `vectors` holds one row per label (deleted labels included and skipped); `columns` names the
    /// output columns.
    public static func vectorFacts(vectors: [Float], dim: Int, ids: [String], deleted: [Bool], columns: [String],
                                   sampleSize: Int, seed: Int) -> VectorFacts {
        let t0 = DispatchTime.now().uptimeNanoseconds
        let sampled = sample(ids: ids, deleted: deleted, size: sampleSize, seed: seed)
        var queries: [Float] = []
        queries.reserveCapacity(sampled.count * dim)
        for label in sampled { queries += vectors[(label * dim)..<((label + 1) * dim)] }
        let live: [Int]? = deleted.contains(true) ? deleted.indices.filter { !deleted[$0] } : nil
        let n = live?.count ?? deleted.count
        let t1 = DispatchTime.now().uptimeNanoseconds
        // Two single-threaded measurements over read-only rows, run side by side.
        final class Results: @unchecked Sendable {
            var stats: (columns: [QualityReport.ColumnStats], constant: [String]) = ([], [])
            var duplicates = 0.0
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: 2) { task in
            if task == 0 {
                results.stats = columnStats(vectors, rows: n, dim: dim, names: columns, live: live)
            } else {
                results.duplicates = duplicateShare(vectors, rows: n, dim: dim, live: live)
            }
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return VectorFacts(sampled: sampled, queries: queries, columns: results.stats.columns,
                           zeroVarianceColumns: results.stats.constant, duplicateShare: results.duplicates,
                           stepSeconds: [("sample", Double(t1 - t0) * 1e-9), ("vector_statistics", Double(t2 - t1) * 1e-9)])
    }

    /// Measures recall, similarities and the graph against exact search over the vectors the index
    /// holds, and completes the report with `facts`. `ids` and `deleted` are per label.
    public static func measure(facts: VectorFacts, ids: [String], deleted: [Bool], index: HNSWIndex, space: Space,
                               quality: TrainerConfig.Quality, efSearch: Int, seed: Int, threads: Int) throws -> Measured {
        var steps = facts.stepSeconds
        var t = DispatchTime.now().uptimeNanoseconds
        func step(_ name: String) {
            let now = DispatchTime.now().uptimeNanoseconds
            steps.append((name, Double(now - t) * 1e-9))
            t = now
        }
        let live = deleted.indices.filter { !deleted[$0] }
        let n = live.count
        let k = QualityReport.k
        let sampled = facts.sampled
        let queries = facts.queries

        // One exact search gives both the recall truth (top k, the item itself included, as a
        // served query by an item's vector sees it) and the neighbours (top k without the item).
        let exact: [[Neighbor]] = try queries.withUnsafeBufferPointer { q in
            n == 0 ? [] : try ExactSearch.nearest(in: index, labels: live.map(UInt64.init), queries: q, k: min(k + 1, n), threads: threads)
        }.map { row in row.map { Neighbor(label: UInt64(live[Int($0.label)]), distance: $0.distance) } }
        step("exact")
        let truth = exact.map { $0.prefix(k).map { Int($0.label) } }
        var efs = Array(Set(quality.ef + [efSearch])).sorted()
        if sampled.isEmpty { efs = [efSearch] }
        var recall: [QualityReport.RecallPoint] = []
        for ef in efs {
            let found = sampled.isEmpty ? [] : try queries.withUnsafeBufferPointer { try index.searchBatch($0, k: k, ef: ef, threads: threads) }
            recall.append(.init(ef: ef, recall: sampled.isEmpty ? 0 : ExactSearch.recall(found, truth: truth)))
        }
        step("search")

        var items: [SampledItem] = []
        var sims: [Double] = []
        for (i, label) in sampled.enumerated() {
            let others = exact[i].filter { Int($0.label) != label }.prefix(k)
            let s = others.map { similarity($0.distance, space: space) }
            items.append(SampledItem(label: label, itemId: ids[label], neighbourIds: others.map { ids[Int($0.label)] }, similarities: s))
            sims += s
        }
        let sortedSims = sims.sorted()
        let simStats = QualityReport.Similarity(
            measure: measureName(space), count: sims.count, mean: sims.isEmpty ? 0 : sims.reduce(0, +) / Double(sims.count),
            quantiles: QualityReport.quantileLevels.map { quantile(sorted: sortedSims, $0) },
            histogram: histogram(sims, lo: sortedSims.first ?? 0, hi: sortedSims.last ?? 0, bins: QualityReport.histogramBins))

        let g = index.statistics()
        step("graph")
        let graph = QualityReport.Graph(
            elements: g.count, deleted: g.deleted,
            layers: g.layers.map { .init(layer: $0.layer, nodes: $0.nodes, minDegree: $0.minDegree, meanDegree: $0.meanDegree, maxDegree: $0.maxDegree) },
            levelZeroDegreeHistogram: g.levelZeroDegreeHistogram, reachableFromEntry: g.reachableFromEntry,
            reachableShare: g.count == 0 ? 1 : Double(g.reachableFromEntry) / Double(g.count),
            liveReachable: g.liveReachable,
            liveReachableShare: g.count - g.deleted == 0 ? 1 : Double(g.liveReachable) / Double(g.count - g.deleted))
        let atSearch = recall.first { $0.ef == efSearch }?.recall ?? 0
        let report = QualityReport(
            sampleSize: sampled.count, sampleSeed: seed, k: k, quantileLevels: QualityReport.quantileLevels, recall: recall,
            efSearch: efSearch, recallAtEfSearch: atSearch,
            efForRecall95: recall.first { $0.recall >= 0.95 }?.ef, efForRecall99: recall.first { $0.recall >= 0.99 }?.ef,
            columns: facts.columns, zeroVarianceColumns: facts.zeroVarianceColumns,
            similarity: simStats, duplicateShare: facts.duplicateShare, graph: graph, drift: nil)
        return Measured(report: report, sample: items, stepSeconds: steps)
    }

    /// Mean, population standard deviation and zero share per column, in Double; a column whose
    /// values are all equal is named as zero-variance. The rows are `live` (row numbers of `x`), or
    /// the first `n` rows when nil.
    static func columnStats(_ x: [Float], rows n: Int, dim: Int, names: [String],
                            live: [Int]? = nil) -> (columns: [QualityReport.ColumnStats], constant: [String]) {
        var sum = [Double](repeating: 0, count: dim), zeros = [Int](repeating: 0, count: dim)
        var lo = [Float](repeating: .infinity, count: dim), hi = [Float](repeating: -.infinity, count: dim)
        var sq = [Double](repeating: 0, count: dim)
        var mean = [Double](repeating: 0, count: dim)
        x.withUnsafeBufferPointer { xp in
            sum.withUnsafeMutableBufferPointer { sum in
                zeros.withUnsafeMutableBufferPointer { zeros in
                    lo.withUnsafeMutableBufferPointer { lo in
                        hi.withUnsafeMutableBufferPointer { hi in
                            for r in 0..<n {
                                let row = xp.baseAddress.unsafelyUnwrapped + (live?[r] ?? r) * dim
                                for j in 0..<dim {
                                    let v = row[j]
                                    sum[j] += Double(v)
                                    if v == 0 { zeros[j] += 1 }
                                    lo[j] = min(lo[j], v)
                                    hi[j] = max(hi[j], v)
                                }
                            }
                        }
                    }
                }
            }
            for j in 0..<dim { mean[j] = n == 0 ? 0 : sum[j] / Double(n) }
            // Two passes: squared deviations from the mean, as numpy's std.
            sq.withUnsafeMutableBufferPointer { sq in
                for r in 0..<n {
                    let row = xp.baseAddress.unsafelyUnwrapped + (live?[r] ?? r) * dim
                    for j in 0..<dim {
                        let d = Double(row[j]) - mean[j]
                        sq[j] += d * d
                    }
                }
            }
        }
        var out: [QualityReport.ColumnStats] = []
        var constant: [String] = []
        for j in 0..<dim {
            let name = j < names.count ? names[j] : "column \(j)"
            out.append(.init(name: name, mean: mean[j], std: n == 0 ? 0 : (sq[j] / Double(n)).squareRoot(),
                             zeroShare: n == 0 ? 0 : Double(zeros[j]) / Double(n)))
            if n > 0, lo[j] == hi[j] { constant.append(name) }
        }
        return (out, constant)
    }

    /// Rows equal bit for bit to an earlier row (−0 counted as 0), as a share of the rows: only rows
    /// with equal 64-bit hashes are compared. The rows are `live` (row numbers of `x`), or the first
    /// `n` rows when nil.
    static func duplicateShare(_ x: [Float], rows n: Int, dim: Int, live: [Int]? = nil) -> Double {
        guard n > 1 else { return 0 }
        func bits(_ v: Float) -> UInt32 { v == 0 ? 0 : v.bitPattern }
        var hashes = [UInt64](repeating: 0, count: n)
        for r in 0..<n {
            var h: UInt64 = 0x243F_6A88_85A3_08D3
            let row = (live?[r] ?? r) * dim
            for j in 0..<dim {
                h = (h ^ UInt64(bits(x[row + j]))) &* 0x0000_0100_0000_01B3
                h ^= h >> 29
            }
            hashes[r] = h
        }
        func equal(_ a: Int, _ b: Int) -> Bool {
            let ra = (live?[a] ?? a) * dim, rb = (live?[b] ?? b) * dim
            return (0..<dim).allSatisfy { bits(x[ra + $0]) == bits(x[rb + $0]) }
        }
        // The first row of each hash, and the further distinct rows of a hash (a true collision).
        var first = [UInt64: Int](minimumCapacity: n)
        var more: [UInt64: [Int]] = [:]
        var duplicates = 0
        for r in 0..<n {
            let h = hashes[r]
            guard let f = first[h] else {
                first[h] = r
                continue
            }
            if equal(f, r) || (more[h]?.contains { equal($0, r) } ?? false) {
                duplicates += 1
            } else {
                more[h, default: []].append(r)
            }
        }
        return Double(duplicates) / Double(n)
    }

    // MARK: the sample file

    /// `quality_sample.tsv`: `label<TAB>item_id<TAB>k neighbour ids<TAB>k similarities`, ids escaped
    /// as in labels.tsv, similarities in shortest round-trip form.
    public static func tsv(_ items: [SampledItem]) -> String {
        var s = ""
        for it in items {
            s += "\(it.label)\t\(VectorExporter.escape(it.itemId))"
            for id in it.neighbourIds { s += "\t" + VectorExporter.escape(id) }
            for v in it.similarities { s += "\t\(v)" }
            s += "\n"
        }
        return s
    }

    /// Reads `quality_sample.tsv`; an error names the file and line.
    public static func loadSample(path: String) throws -> [SampledItem] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw InputError("\(path): cannot read") }
        var out: [SampledItem] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 2, f.count % 2 == 0, let label = Int(f[0]) else {
                throw InputError("\(path):\(n + 1): not a label, id, neighbours, similarities line")
            }
            let m = (f.count - 2) / 2
            let sims = f[(2 + m)...].compactMap(Double.init)
            guard sims.count == m else { throw InputError("\(path):\(n + 1): a similarity is not a number") }
            out.append(SampledItem(label: label, itemId: VectorExporter.unescape(f[1]),
                                   neighbourIds: f[2..<(2 + m)].map(VectorExporter.unescape), similarities: sims))
        }
        return out
    }
}
