/// Range checks on training_metadata.json read back from disk (`trainer report`): a file edited or
/// damaged by hand decodes fine as JSON but must not be summarised as if its numbers were real.
extension TrainingMetadata {
    /// The first value out of its range, as "key path is value, expected range"; nil when all fit.
    public func firstProblem() -> String? {
        var c = RangeCheck()
        c.count("item_count", itemCount)
        c.count("vector_dimension", vectorDimension, from: 1)
        c.count("peak_rss_bytes", peakRSSBytes)
        for (k, v) in timingsSeconds.sorted(by: { $0.key < $1.key }) { c.nonNegative("timings_seconds.\(k)", v) }
        c.count("index.M", index.M, from: 2)
        c.count("index.ef_construction", index.efConstruction, from: 1)
        c.count("index.ef_search", index.efSearch, from: 1)
        if let q = quality { c.quality(q) }
        if let cl = cluster {
            c.count("cluster.shards", cl.shards)
            for (i, s) in cl.shardSizes.enumerated() { c.count("cluster.shard_sizes[\(i)]", s) }
            for (i, s) in cl.shardBuildSeconds.enumerated() { c.nonNegative("cluster.shard_build_seconds[\(i)]", s) }
            for (i, s) in cl.refineSeconds.enumerated() { c.nonNegative("cluster.refine_seconds[\(i)]", s) }
        }
        return c.problem
    }
}

/// Collects the first out-of-range value; later checks are skipped once one is found.
struct RangeCheck {
    var problem: String?

    mutating func fail(_ path: String, _ value: String, _ expected: String) {
        if problem == nil { problem = "\(path) is \(value), expected \(expected)" }
    }

    mutating func count(_ path: String, _ v: Int, from low: Int = 0) {
        if v < low { fail(path, String(v), "an integer ≥ \(low)") }
    }

    mutating func nonNegative(_ path: String, _ v: Double) {
        if !(v >= 0) || !v.isFinite { fail(path, "\(v)", "a number ≥ 0") }
    }

    mutating func share(_ path: String, _ v: Double) {
        if !(0...1).contains(v) { fail(path, "\(v)", "a number in 0…1") }
    }

    mutating func histogram(_ path: String, _ h: QualityReport.Histogram) {
        if h.edges.count != h.counts.count + 1 {
            fail(path + ".edges", "\(h.edges.count) edges", "one more than the \(h.counts.count) counts")
        }
        if zip(h.edges, h.edges.dropFirst()).contains(where: { !($0 <= $1) }) { fail(path + ".edges", "not ascending", "ascending edges") }
        for (i, n) in h.counts.enumerated() { count(path + ".counts[\(i)]", n) }
    }

    mutating func quality(_ q: QualityReport) {
        count("quality.sample_size", q.sampleSize)
        count("quality.k", q.k, from: 1)
        count("quality.ef_search", q.efSearch, from: 1)
        share("quality.recall_at_ef_search", q.recallAtEfSearch)
        for (i, p) in q.recall.enumerated() {
            count("quality.recall[\(i)].ef", p.ef, from: 1)
            share("quality.recall[\(i)].recall", p.recall)
        }
        if zip(q.recall, q.recall.dropFirst()).contains(where: { $0.ef >= $1.ef }) {
            fail("quality.recall", "not sorted by ef", "ascending, distinct ef values")
        }
        for (i, l) in q.quantileLevels.enumerated() { share("quality.quantile_levels[\(i)]", l) }
        if q.recall.isEmpty { fail("quality.recall", "empty", "at least one ef") }
        if q.similarity.quantiles.count != q.quantileLevels.count {
            fail("quality.similarity.quantiles", "\(q.similarity.quantiles.count) values", "one per quantile level (\(q.quantileLevels.count))")
        }
        count("quality.similarity.count", q.similarity.count)
        histogram("quality.similarity.histogram", q.similarity.histogram)
        share("quality.duplicate_share", q.duplicateShare)
        for (i, col) in q.columns.enumerated() {
            nonNegative("quality.columns[\(i)].std", col.std)
            share("quality.columns[\(i)].zero_share", col.zeroShare)
        }
        let g = q.graph
        count("quality.graph.elements", g.elements)
        count("quality.graph.deleted", g.deleted)
        count("quality.graph.reachable_from_entry", g.reachableFromEntry)
        share("quality.graph.reachable_share", g.reachableShare)
        count("quality.graph.live_reachable", g.liveReachable)
        share("quality.graph.live_reachable_share", g.liveReachableShare)
        for (i, n) in g.levelZeroDegreeHistogram.enumerated() { count("quality.graph.level_zero_degree_histogram[\(i)]", n) }
        for (i, l) in g.layers.enumerated() {
            count("quality.graph.layers[\(i)].nodes", l.nodes)
            count("quality.graph.layers[\(i)].min_degree", l.minDegree)
            count("quality.graph.layers[\(i)].max_degree", l.maxDegree)
            nonNegative("quality.graph.layers[\(i)].mean_degree", l.meanDegree)
        }
        if let d = q.drift {
            count("quality.drift.added", d.added)
            count("quality.drift.changed", d.changed)
            count("quality.drift.removed", d.removed)
            count("quality.drift.compared_items", d.comparedItems)
            if let v = d.meanOverlap { share("quality.drift.mean_overlap", v) }
            if let v = d.drift { share("quality.drift.drift", v) }
            if let v = d.maxDrift { share("quality.drift.max_drift", v) }
            for (i, v) in (d.overlapQuantiles ?? []).enumerated() { share("quality.drift.overlap_quantiles[\(i)]", v) }
            for (i, o) in d.lowestOverlap.enumerated() { share("quality.drift.lowest_overlap[\(i)].overlap", o.overlap) }
            if let e = d.histogramEdges {
                let now = d.currentCounts ?? [], before = d.previousCounts ?? []
                histogram("quality.drift.current_counts", .init(edges: e, counts: now))
                histogram("quality.drift.previous_counts", .init(edges: e, counts: before))
            }
        }
    }
}
