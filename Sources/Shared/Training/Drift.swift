import Foundation

extension QualityMeasure {
    /// Compares this run with the model in `folder` (before the commit replaces it): the item
    /// counts from item_state.tsv, and for the sampled items that the previous run also sampled the
    /// overlap of their top-k neighbour ids and the similarity distributions. nil when the folder
    /// holds no model. A previous model too old or damaged to compare gives the counts it can and a
    /// note; it never fails the run.
    public static func drift(folder: String, current: QualityReport, sample: [SampledItem], state: ItemState,
                             maxDrift: Double?) -> QualityReport.Drift? {
        let metaPath = folder + "/training_metadata.json"
        guard let data = FileManager.default.contents(atPath: metaPath) else { return nil }
        var d = QualityReport.Drift(added: 0, changed: 0, removed: 0, comparedItems: 0, maxDrift: maxDrift, lowestOverlap: [])
        var notes: [String] = []
        let previous = try? JSONDecoder().decode(TrainingMetadata.self, from: data)
        if let previous {
            d.previousModel = previous.artifacts["hnsw_index.bin"]
            d.previousStartedAt = previous.startedAt
        } else {
            notes.append("\(metaPath) is not readable training metadata")
        }
        do {
            let old = try ItemState.load(path: folder + "/item_state.tsv")
            var oldLive: [String: UInt64] = [:]
            for i in old.ids.indices where !old.deleted[i] { oldLive[old.ids[i]] = old.fingerprints[i] }
            var nowLive = Set<String>()
            for i in state.ids.indices where !state.deleted[i] {
                nowLive.insert(state.ids[i])
                if let fp = oldLive[state.ids[i]] {
                    if fp != state.fingerprints[i] { d.changed += 1 }
                } else {
                    d.added += 1
                }
            }
            d.removed = oldLive.keys.filter { !nowLive.contains($0) }.count
        } catch {
            notes.append("\(error)")
        }
        let samplePath = folder + "/quality_sample.tsv"
        guard FileManager.default.fileExists(atPath: samplePath), let prevQuality = previous?.quality else {
            notes.append("the previous model has no quality sample (trained before the quality report), so neighbours are not compared")
            d.note = notes.joined(separator: "; ")
            return d
        }
        let before: [SampledItem]
        do { before = try loadSample(path: samplePath) } catch {
            notes.append("\(error)")
            d.note = notes.joined(separator: "; ")
            return d
        }
        var byId: [String: SampledItem] = [:]
        for it in before { byId[it.itemId] = it }
        var overlaps: [(String, Double)] = []
        for it in sample {
            guard let old = byId[it.itemId] else { continue }
            let shared = Set(it.neighbourIds).intersection(old.neighbourIds).count
            overlaps.append((it.itemId, Double(shared) / Double(max(it.neighbourIds.count, old.neighbourIds.count, 1))))
        }
        d.comparedItems = overlaps.count
        if overlaps.isEmpty {
            notes.append("no sampled item was sampled by the previous run")
        } else {
            let mean = overlaps.map(\.1).reduce(0, +) / Double(overlaps.count)
            d.meanOverlap = mean
            d.drift = 1 - mean
            let sorted = overlaps.map(\.1).sorted()
            d.overlapQuantiles = QualityReport.quantileLevels.map { quantile(sorted: sorted, $0) }
            d.lowestOverlap = overlaps.enumerated().sorted { $0.element.1 != $1.element.1 ? $0.element.1 < $1.element.1 : $0.offset < $1.offset }
                .prefix(5).map { .init(itemId: $0.element.0, overlap: $0.element.1) }
        }
        let prevSims = before.flatMap(\.similarities), nowSims = sample.flatMap(\.similarities)
        let ps = prevQuality.similarity
        if ps.measure == current.similarity.measure, ps.quantiles.count == current.similarity.quantiles.count {
            d.previousSimilarityMean = ps.mean
            d.previousSimilarityQuantiles = ps.quantiles
            d.similarityQuantileChange = zip(current.similarity.quantiles, ps.quantiles).map { $0 - $1 }
            let all = prevSims + nowSims
            let lo = all.min() ?? 0, hi = all.max() ?? 0
            let now = histogram(nowSims, lo: lo, hi: hi, bins: QualityReport.histogramBins)
            d.histogramEdges = now.edges
            d.currentCounts = now.counts
            d.previousCounts = histogram(prevSims, lo: lo, hi: hi, bins: QualityReport.histogramBins).counts
        } else {
            notes.append("the previous model measured \(ps.measure), this one \(current.similarity.measure)")
        }
        d.note = notes.isEmpty ? nil : notes.joined(separator: "; ")
        return d
    }
}
