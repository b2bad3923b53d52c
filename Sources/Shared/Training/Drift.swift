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
            let counts = try changeCounts(savedStatePath: folder + "/item_state.tsv", now: state)
            (d.added, d.changed, d.removed) = (counts.added, counts.changed, counts.removed)
        } catch {
            notes.append("\(error)")
        }
        let samplePath = folder + "/quality_sample.tsv"
        guard let prevQuality = previous?.quality else {
            if previous != nil {
                notes.append("the previous model has no quality section (trained before the quality report), so neighbours are not compared")
            }
            d.note = notes.joined(separator: "; ")
            return d
        }
        guard FileManager.default.fileExists(atPath: samplePath) else {
            notes.append("\(samplePath) is missing, so neighbours are not compared")
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

    /// Items added, changed and removed between a saved item_state.tsv and `now`, by item id. Both
    /// keep labels in order (a full run of the same catalog, or an incremental run, gives each id
    /// its old label), so ids are first compared label by label on the file's bytes; only the ids
    /// left over go through a dictionary. 1M lines take a fraction of a second this way.
    static func changeCounts(savedStatePath path: String, now: ItemState) throws -> (added: Int, changed: Int, removed: Int) {
        guard let data = FileManager.default.contents(atPath: path) else { throw InputError("\(path): cannot read the saved item state") }
        let bytes = [UInt8](data)
        var ids: [Range<Int>] = [], fingerprints: [UInt64] = [], deleted: [Bool] = []
        var p = 0, line = 1
        func field(_ end: UInt8) -> Range<Int>? {
            let start = p
            while p < bytes.count, bytes[p] != end { p += 1 }
            guard p < bytes.count else { return nil }
            defer { p += 1 }
            return start..<p
        }
        while p < bytes.count {
            guard field(9) != nil, let id = field(9), let fp = field(9), let del = field(10), fp.count == 16, del.count == 1 else {
                throw InputError("\(path):\(line): not a label, id, fingerprint, deleted line")
            }
            var v: UInt64 = 0
            for b in bytes[fp] {
                let digit: UInt8
                switch b {
                case 48...57: digit = b - 48
                case 97...102: digit = b - 87
                default: throw InputError("\(path):\(line): the fingerprint is not 16 hex digits")
                }
                v = v << 4 | UInt64(digit)
            }
            ids.append(id)
            fingerprints.append(v)
            deleted.append(bytes[del.lowerBound] == 49)
            line += 1
        }
        var added = 0, changed = 0, removed = 0
        var oldDone = [Bool](repeating: false, count: ids.count), nowDone = [Bool](repeating: false, count: now.ids.count)
        func classify(old i: Int, now j: Int) {
            switch (!deleted[i], !now.deleted[j]) {
            case (true, true): if fingerprints[i] != now.fingerprints[j] { changed += 1 }
            case (false, true): added += 1
            case (true, false): removed += 1
            case (false, false): break
            }
            oldDone[i] = true
            nowDone[j] = true
        }
        for i in 0..<min(ids.count, now.ids.count) where VectorExporter.escape(now.ids[i]).utf8.elementsEqual(bytes[ids[i]]) {
            classify(old: i, now: i)
        }
        var rest: [String: Int] = [:]
        for i in ids.indices where !oldDone[i] && !deleted[i] {
            rest[VectorExporter.unescape(String(decoding: bytes[ids[i]], as: UTF8.self))] = i
        }
        for j in now.ids.indices where !nowDone[j] && !now.deleted[j] {
            if let i = rest[now.ids[j]] { classify(old: i, now: j) } else { added += 1 }
        }
        for i in ids.indices where !oldDone[i] && !deleted[i] { removed += 1 }
        return (added, changed, removed)
    }
}
