import Foundation
import HNSW

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
    /// its old label), so each line is first compared with the same label's id as it is read; only
    /// the lines left over are kept, in a dictionary. The file is read a megabyte at a time: at 10M
    /// items it is 380 MB that need not be held.
    static func changeCounts(savedStatePath path: String, now: ItemState) throws -> (added: Int, changed: Int, removed: Int) {
        var added = 0, changed = 0, removed = 0
        func classify(old: (fingerprint: UInt64, deleted: Bool), now j: Int) {
            switch (!old.deleted, !now.deleted[j]) {
            case (true, true): if old.fingerprint != now.fingerprints[j] { changed += 1 }
            case (false, true): added += 1
            case (true, false): removed += 1
            case (false, false): break
            }
        }
        var nowDone = [Bool](repeating: false, count: now.ids.count)
        var rest: [String: UInt64] = [:]
        do {
            try FileIO.forEachLine(path) { bytes, i in
                let line = i + 1
                let fields = bytes.split(separator: 9, maxSplits: 3, omittingEmptySubsequences: false)
                guard fields.count == 4, fields[2].count == 16, fields[3].count == 1 else {
                    throw InputError("\(path):\(line): not a label, id, fingerprint, deleted line")
                }
                var v: UInt64 = 0
                for b in fields[2] {
                    let digit: UInt8
                    switch b {
                    case 48...57: digit = b - 48
                    case 97...102: digit = b - 87
                    default: throw InputError("\(path):\(line): the fingerprint is not 16 hex digits")
                    }
                    v = v << 4 | UInt64(digit)
                }
                let deleted = fields[3].first == 49
                let id = fields[1]
                if i < now.ids.count, VectorExporter.escape(now.ids[i]).utf8.elementsEqual(id) {
                    classify(old: (v, deleted), now: i)
                    nowDone[i] = true
                } else if !deleted {
                    rest[VectorExporter.unescape(String(decoding: id, as: UTF8.self))] = v
                }
            }
        } catch let e as InputError {
            throw e
        } catch {
            throw InputError("\(path): cannot read the saved item state (\(error))")
        }
        for j in now.ids.indices where !nowDone[j] && !now.deleted[j] {
            if let fingerprint = rest.removeValue(forKey: now.ids[j]) {
                classify(old: (fingerprint, false), now: j)
            } else {
                added += 1
            }
        }
        removed += rest.count
        return (added, changed, removed)
    }
}
