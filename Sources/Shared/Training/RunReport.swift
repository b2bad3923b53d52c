import Foundation

/// The run report: a terminal summary and `report.html`, both rendered from training_metadata.json
/// alone, so `trainer report` rebuilds the same page from a saved model.
public enum RunReport {
    /// Phases in run order; others (none today) follow sorted by name.
    static let phaseOrder = ["load", "pipeline", "index", "quality", "write"]

    /// A number with `digits` decimals; a value that rounds to zero prints without a minus sign.
    static func f(_ x: Double, _ digits: Int = 4) -> String {
        let s = String(format: "%.\(digits)f", x)
        return s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(s.dropFirst()) : s
    }

    /// The similarity measure in words: "cosine similarity", not the metadata's `cosine_similarity`.
    static func measureName(_ m: String) -> String {
        switch m {
        case "cosine_similarity": return "cosine similarity"
        case "inner_product": return "inner product"
        case "l2_squared_distance": return "squared L2 distance"
        default: return m.replacingOccurrences(of: "_", with: " ")
        }
    }
    static func pct(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }
    /// "1 item", "2 items", "1 retry", "3 retries": a count with its noun in the right number.
    public static func counted(_ n: Int, _ noun: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? noun : plural ?? noun + "s")
    }

    static func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }

    /// Phase timings in run order, then any others by name.
    public static func orderedTimings(_ t: [String: Double]) -> [(String, Double)] {
        let known = phaseOrder.compactMap { p in t[p].map { (p, $0) } }
        return known + t.keys.filter { !phaseOrder.contains($0) }.sorted().map { ($0, t[$0] ?? 0) }
    }

    static func level(_ q: Double) -> String {
        switch q {
        case 0: return "min"
        case 1: return "max"
        case 0.5: return "median"
        default: return "p" + String(format: "%g", q * 100)
        }
    }

    // MARK: terminal

    /// The summary `trainer report` prints and a run logs, one line per topic.
    public static func summary(_ m: TrainingMetadata) -> [String] {
        var out: [String] = []
        out.append("model \(m.modelVersion), started \(m.startedAt), commit \(m.gitCommit): \(counted(m.itemCount, "item")) × \(counted(m.vectorDimension, "dimension")), "
                   + "\(m.index.space), M \(m.index.M), ef_construction \(m.index.efConstruction), ef_search \(m.index.efSearch)")
        if let q = m.quality {
            out.append("recall@\(q.k) on \(counted(q.sampleSize, "sampled item")): " + q.recall.map { "ef \($0.ef) \(f($0.recall))" }.joined(separator: ", "))
            out.append("  at ef_search \(q.efSearch): \(f(q.recallAtEfSearch)); reaches 0.95 at ef \(q.efForRecall95.map(String.init) ?? "none"), "
                       + "0.99 at ef \(q.efForRecall99.map(String.init) ?? "none")")
            let s = q.similarity
            out.append("top-\(q.k) \(measureName(s.measure)) (\(counted(s.count, "pair"))): mean \(f(s.mean)), "
                       + zip(q.quantileLevels, s.quantiles).map { "\(level($0)) \(f($1))" }.joined(separator: ", "))
            out.append("duplicate vectors \(pct(q.duplicateShare)); zero-variance columns: "
                       + (q.zeroVarianceColumns.isEmpty ? "none" : q.zeroVarianceColumns.joined(separator: ", ")))
            let g = q.graph
            out.append("graph: live items reachable from the entry point \(g.liveReachable) of \(g.elements - g.deleted) (\(pct(g.liveReachableShare))); "
                       + "layer 0 reachable \(g.reachableFromEntry) of \(counted(g.elements, "element")) (\(pct(g.reachableShare))), \(g.deleted) deleted")
            out.append("degrees (min/mean/max): " + g.layers.map {
                "layer \($0.layer) (\(counted($0.nodes, "node"))) \($0.minDegree)/\(f($0.meanDegree, 1))/\($0.maxDegree)"
            }.joined(separator: ", "))
            if let d = q.drift {
                var line = "against the previous model: \(d.added) added, \(d.changed) changed, \(d.removed) removed"
                if let mo = d.meanOverlap, let dr = d.drift {
                    line += "; \(counted(d.comparedItems, "sampled item")) compared, mean top-\(q.k) overlap \(f(mo)), drift \(f(dr))"
                    line += d.maxDrift.map { " (limit \(f($0)))" } ?? " (no limit)"
                }
                if let c = d.similarityQuantileChange, c.count == q.quantileLevels.count, let mid = q.quantileLevels.firstIndex(of: 0.5) {
                    line += "; median similarity change \(String(format: "%+.4f", c[mid]))"
                }
                if let note = d.note { line += "; note: \(note)" }
                out.append(line)
            } else {
                out.append("no previous model in the output folder to compare with")
            }
            out.append("column\tmean\tstd\tzero share")
            for c in q.columns { out.append("  \(c.name)\t\(f(c.mean, 6))\t\(f(c.std, 6))\t\(f(c.zeroShare))") }
        } else {
            out.append("no quality section (trained before the quality report)")
        }
        out.append("timings: " + orderedTimings(m.timingsSeconds).map { "\($0.0) \(f($0.1, 2)) s" }.joined(separator: ", ")
                   + "; peak RSS \(mib(m.peakRSSBytes))")
        if let c = m.cluster {
            out.append("cluster (\(c.mode)): \(counted(c.shards, "shard")) of " + c.shardSizes.map(String.init).joined(separator: " ")
                       + " items; shard build seconds " + c.shardBuildSeconds.map { f($0, 2) }.joined(separator: " ")
                       + "; \(counted(c.workers, "worker")), \(counted(c.retries, "retry", "retries"))")
        }
        return out
    }

    // MARK: HTML

    /// Escapes text for HTML element content and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    /// Colours of the plots (the tests look for them in a screenshot).
    public enum Colour {
        public static let recall = "#1f77b4", current = "#1f77b4", previous = "#ff7f0e", degree = "#2ca02c",
                          timing = "#8c564b", shard = "#9467bd", guide = "#999999", efSearch = "#d62728"
    }

    static let width = 640.0, height = 260.0, left = 56.0, right = 16.0, top = 16.0, bottom = 44.0

    /// One series of a bar chart: a value and a tooltip per bin.
    struct Series {
        var values: [Double]
        var tips: [String]
        var colour: String
        var name: String
    }

    /// A bar chart of one or two series over the same bins; `labels` name a few bins on the x axis.
    /// With two series the legend sits above the plot, never over a bar.
    static func bars(_ series: [Series], labels: [(Double, String)], title: String, xTitle: String, yTitle: String,
                     yMax: (Double) -> String) -> String {
        let bins = series.map(\.values.count).max() ?? 0
        let maxValue = max(series.flatMap(\.values).max() ?? 0, 1e-12)
        let legend = series.count > 1 ? 18.0 : 0
        let plotTop = top + legend
        let plotW = width - left - right, plotH = height - plotTop - bottom
        var s = svgOpen(title)
        s += axes(yMax: yMax(maxValue), yMin: "0", xTitle: xTitle, yTitle: yTitle, plotTop: plotTop)
        let slot = bins == 0 ? plotW : plotW / Double(bins)
        let barW = max(slot / Double(max(series.count, 1)) - 0.5, 0.5)
        for (k, ser) in series.enumerated() {
            for (i, v) in ser.values.enumerated() where v > 0 {
                let h = plotH * v / maxValue
                let x = left + slot * Double(i) + barW * Double(k)
                let tip = i < ser.tips.count ? ser.tips[i] : ""
                s += "<rect x=\"\(f(x, 2))\" y=\"\(f(plotTop + plotH - h, 2))\" width=\"\(f(barW, 2))\" height=\"\(f(h, 2))\" fill=\"\(ser.colour)\"><title>\(escape(tip))</title></rect>"
            }
        }
        for (at, text) in labels {
            let x = left + slot * at
            s += "<text x=\"\(f(x, 2))\" y=\"\(f(plotTop + plotH + 16, 2))\" text-anchor=\"middle\" font-size=\"11\">\(escape(text))</text>"
        }
        if series.count > 1 {
            var x = left
            for ser in series {
                s += "<rect x=\"\(f(x, 2))\" y=\"\(f(top - 6, 2))\" width=\"10\" height=\"10\" fill=\"\(ser.colour)\"/>"
                s += "<text x=\"\(f(x + 15, 2))\" y=\"\(f(top + 3, 2))\" font-size=\"11\">\(escape(ser.name))</text>"
                x += 30 + 7 * Double(ser.name.count)
            }
        }
        return s + "</svg>"
    }

    /// A histogram of counts; each bar's tooltip gives its bin and count.
    static func countBars(_ counts: [Int], binNames: [String], colour: String, name: String, labels: [(Double, String)],
                          title: String, xTitle: String) -> String {
        let tips = counts.indices.map { i in "\(i < binNames.count ? binNames[i] : "bin \(i)"): \(counts[i]) \(name)" }
        return bars([Series(values: counts.map(Double.init), tips: tips, colour: colour, name: name)], labels: labels,
                    title: title, xTitle: xTitle, yTitle: "count", yMax: { String(Int($0.rounded())) })
    }

    /// Two histograms over the same bins as shares of their own totals, so runs that sampled
    /// different numbers of pairs compare bar for bar.
    static func shareBars(_ parts: [(counts: [Int], colour: String, name: String)], binNames: [String], labels: [(Double, String)],
                          title: String, xTitle: String) -> String {
        let series = parts.map { p -> Series in
            let total = max(p.counts.reduce(0, +), 1)
            let values = p.counts.map { Double($0) / Double(total) }
            let tips = p.counts.indices.map { i in
                "\(i < binNames.count ? binNames[i] : "bin \(i)"): \(p.name) \(pct(values[i])) (\(p.counts[i]) of \(total) pairs)"
            }
            return Series(values: values, tips: tips, colour: p.colour, name: p.name)
        }
        return bars(series, labels: labels, title: title, xTitle: xTitle, yTitle: "share of pairs", yMax: { pct($0) })
    }

    /// "[lo, hi)" for each bin of a histogram, the last one closed.
    static func binNames(_ edges: [Double]) -> [String] {
        guard edges.count > 1 else { return [] }
        return (0..<(edges.count - 1)).map { i in
            "[\(f(edges[i], 4)), \(f(edges[i + 1], 4))\(i == edges.count - 2 ? "]" : ")")"
        }
    }

    static func svgOpen(_ title: String) -> String {
        "<svg width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escape(title))\">"
    }

    static func axes(yMax: String, yMin: String, xTitle: String, yTitle: String, plotTop: Double = top) -> String {
        let top = plotTop, plotH = height - plotTop - bottom
        var s = "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>"
        s += "<line x1=\"\(left)\" y1=\"\(top + plotH)\" x2=\"\(width - right)\" y2=\"\(top + plotH)\" stroke=\"#333\"/>"
        s += "<text x=\"\(left - 6)\" y=\"\(top + 10)\" text-anchor=\"end\" font-size=\"11\">\(escape(yMax))</text>"
        s += "<text x=\"\(left - 6)\" y=\"\(top + plotH)\" text-anchor=\"end\" font-size=\"11\">\(escape(yMin))</text>"
        s += "<text x=\"\(left + (width - left - right) / 2)\" y=\"\(height - 6)\" text-anchor=\"middle\" font-size=\"12\">\(escape(xTitle))</text>"
        s += "<text x=\"14\" y=\"\(top + plotH / 2)\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 14 \(top + plotH / 2))\">\(escape(yTitle))</text>"
        return s
    }

    /// recall@k against ef, ef on a log scale, with the 0.95 and 0.99 lines and ef_search marked.
    static func recallCurve(_ q: QualityReport) -> String {
        let pts = q.recall
        let plotW = width - left - right, plotH = height - top - bottom
        let lo = max(0, min(0.9, (pts.map(\.recall).min() ?? 0.9) - 0.01))
        let minEf = log(Double(pts.first?.ef ?? 1)), maxEf = log(Double(pts.last?.ef ?? 1))
        func x(_ ef: Int) -> Double { maxEf > minEf ? left + plotW * (log(Double(ef)) - minEf) / (maxEf - minEf) : left + plotW / 2 }
        func y(_ r: Double) -> Double { top + plotH * (1 - (r - lo) / (1 - lo)) }
        var s = svgOpen("recall@\(q.k) against ef")
        s += axes(yMax: "1.00", yMin: f(lo, 2), xTitle: "ef (log scale)", yTitle: "recall@\(q.k)")
        for target in [0.95, 0.99] where target > lo {
            s += "<line x1=\"\(left)\" y1=\"\(f(y(target), 2))\" x2=\"\(width - right)\" y2=\"\(f(y(target), 2))\" stroke=\"\(Colour.guide)\" stroke-dasharray=\"4 4\"/>"
            s += "<text x=\"\(f(width - right - 4, 2))\" y=\"\(f(y(target) - 4, 2))\" text-anchor=\"end\" font-size=\"11\" fill=\"#666\">\(f(target, 2))</text>"
        }
        s += "<line x1=\"\(f(x(q.efSearch), 2))\" y1=\"\(top)\" x2=\"\(f(x(q.efSearch), 2))\" y2=\"\(top + plotH)\" stroke=\"\(Colour.efSearch)\" stroke-width=\"2\"><title>ef_search \(q.efSearch)</title></line>"
        s += "<text x=\"\(f(x(q.efSearch) - 4, 2))\" y=\"\(f(top + plotH - 6, 2))\" text-anchor=\"end\" font-size=\"11\" fill=\"\(Colour.efSearch)\">ef_search \(q.efSearch)</text>"
        let line = pts.map { "\(f(x($0.ef), 2)),\(f(y($0.recall), 2))" }.joined(separator: " ")
        s += "<polyline points=\"\(line)\" fill=\"none\" stroke=\"\(Colour.recall)\" stroke-width=\"4\"/>"
        for p in pts {
            s += "<circle cx=\"\(f(x(p.ef), 2))\" cy=\"\(f(y(p.recall), 2))\" r=\"5\" fill=\"\(Colour.recall)\"><title>ef \(p.ef): \(f(p.recall))</title></circle>"
            s += "<text x=\"\(f(x(p.ef), 2))\" y=\"\(f(top + plotH + 16, 2))\" text-anchor=\"middle\" font-size=\"11\">\(p.ef)</text>"
        }
        return s + "</svg>"
    }

    static func table(_ header: [String], _ rows: [[String]], classes: [String?] = []) -> String {
        var s = "<table><thead><tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr></thead><tbody>"
        for (i, r) in rows.enumerated() {
            let cls = i < classes.count ? classes[i].map { " class=\"\($0)\"" } ?? "" : ""
            s += "<tr\(cls)>" + r.map { "<td>\(escape($0))</td>" }.joined() + "</tr>"
        }
        return s + "</tbody></table>"
    }

    /// A two-column table of names and values, without a header row.
    static func keyValues(_ rows: [(String, String)]) -> String {
        "<table class=\"kv\"><tbody>" + rows.map { "<tr><td>\(escape($0.0))</td><td>\(escape($0.1))</td></tr>" }.joined() + "</tbody></table>"
    }

    /// Where each edge label sits: at the left edge of its bin, the last edge at the plot's right end.
    static func edgeTicks(_ edges: [Double]) -> [(Double, String)] {
        guard edges.count > 1 else { return [] }
        let bins = edges.count - 1
        return stride(from: 0, through: bins, by: 8).map { (Double($0), f(edges[$0], 3)) }
            + (bins % 8 == 0 ? [] : [(Double(bins), f(edges[bins], 3))])
    }

    /// The self-contained page: inline CSS and SVG, no script, no network. Every string from the
    /// metadata is escaped.
    public static func html(_ m: TrainingMetadata) -> String {
        var b = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Training run \(escape(m.modelVersion)) — \(escape(m.startedAt))</title>"
        b += "<style>body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ddd}"
        b += "table{border-collapse:collapse;font-size:13px;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
        b += "td:first-child{text-align:left}tr.warn td{background:#fde2e2}.kv td:first-child{font-weight:bold}.note{color:#a33}svg{display:block;margin:8px 0}</style></head><body>\n"
        b += "<h1>Training run: model \(escape(m.modelVersion))</h1>\n"
        b += keyValues([
            ("started (UTC)", m.startedAt), ("trainer", m.trainerVersion), ("git commit", m.gitCommit), ("data version", m.dataVersion),
            ("items", String(m.itemCount)), ("dimension", String(m.vectorDimension)), ("space", m.index.space), ("M", String(m.index.M)),
            ("ef_construction", String(m.index.efConstruction)), ("ef_search", String(m.index.efSearch)),
            ("parent model", m.parentModel ?? "none (full run)"),
        ]) + "\n"
        if let q = m.quality {
            b += "<h2 id=\"recall\">Recall@\(q.k) against ef</h2>\n"
            b += "<p>\(counted(q.sampleSize, "sampled item")) (seed \(q.sampleSeed)) queried by their own vectors, against exact search. "
            b += "At ef_search \(q.efSearch): <b>\(f(q.recallAtEfSearch))</b>. Reaches 0.95 at ef \(q.efForRecall95.map(String.init) ?? "none"), "
            b += "0.99 at ef \(q.efForRecall99.map(String.init) ?? "none").</p>\n"
            b += recallCurve(q) + "\n"
            b += table(["ef", "recall@\(q.k)"], q.recall.map { [String($0.ef), f($0.recall)] }) + "\n"

            let s = q.similarity
            b += "<h2 id=\"similarity\">Top-\(q.k) \(escape(measureName(s.measure)))</h2>\n"
            b += "<p>\(counted(s.count, "(item, neighbour) pair")), the item itself left out; mean \(f(s.mean)); duplicate vectors \(pct(q.duplicateShare)).</p>\n"
            if let d = q.drift, let edges = d.histogramEdges, let now = d.currentCounts, let before = d.previousCounts {
                b += shareBars([(now, Colour.current, "this run"), (before, Colour.previous, "previous model")], binNames: binNames(edges),
                               labels: edgeTicks(edges), title: "similarity histogram against the previous model", xTitle: measureName(s.measure)) + "\n"
            } else {
                b += shareBars([(s.histogram.counts, Colour.current, "this run")], binNames: binNames(s.histogram.edges),
                               labels: edgeTicks(s.histogram.edges), title: "similarity histogram", xTitle: measureName(s.measure)) + "\n"
            }
            var qRows = zip(q.quantileLevels, s.quantiles).map { [level($0), f($1)] }
            var qHeader = ["quantile", "this run"]
            if let d = q.drift, let prev = d.previousSimilarityQuantiles, prev.count == qRows.count {
                qHeader += ["previous", "change"]
                for i in qRows.indices { qRows[i] += [f(prev[i]), String(format: "%+.4f", s.quantiles[i] - prev[i])] }
            }
            b += table(qHeader, qRows) + "\n"

            b += "<h2 id=\"drift\">Against the previous model</h2>\n"
            if let d = q.drift {
                var rows: [(String, String)] = [("previous index (SHA-256)", d.previousModel ?? "unknown"), ("previous run started", d.previousStartedAt ?? "unknown"),
                                                ("items added", String(d.added)), ("items changed", String(d.changed)), ("items removed", String(d.removed)),
                                                ("sampled items compared", String(d.comparedItems))]
                if let mo = d.meanOverlap, let dr = d.drift {
                    rows += [("mean top-\(q.k) overlap", f(mo)), ("drift (1 − mean overlap)", f(dr)), ("quality.max_drift", d.maxDrift.map { f($0) } ?? "off")]
                }
                b += keyValues(rows) + "\n"
                if let oq = d.overlapQuantiles {
                    b += table(["overlap quantile", "value"], zip(q.quantileLevels, oq).map { [level($0), f($1)] }) + "\n"
                }
                if !d.lowestOverlap.isEmpty {
                    b += "<p>Lowest overlap:</p>" + table(["item id", "overlap"], d.lowestOverlap.map { [$0.itemId, f($0.overlap)] }) + "\n"
                }
                if let note = d.note { b += "<p class=\"note\">\(escape(note))</p>\n" }
            } else {
                b += "<p>No previous model in the output folder.</p>\n"
            }

            b += "<h2 id=\"columns\">Output columns</h2>\n"
            b += "<p>Zero-variance columns: \(q.zeroVarianceColumns.isEmpty ? "none" : q.zeroVarianceColumns.map(escape).joined(separator: ", ")).</p>\n"
            let constant = Set(q.zeroVarianceColumns)
            b += table(["column", "mean", "std", "zero share"], q.columns.map { [$0.name, f($0.mean, 6), f($0.std, 6), f($0.zeroShare)] },
                       classes: q.columns.map { constant.contains($0.name) ? "warn" : nil }) + "\n"

            let g = q.graph
            b += "<h2 id=\"graph\">Graph</h2>\n"
            b += "<p>Live items reachable from the entry point (the ones a search can return): \(g.liveReachable) of \(g.elements - g.deleted) "
            b += "(\(pct(g.liveReachableShare))). Layer 0 reachable from the entry point: \(g.reachableFromEntry) of \(g.elements) elements "
            b += "(\(pct(g.reachableShare))); \(g.deleted) deleted.</p>\n"
            let maxDegree = g.levelZeroDegreeHistogram.count - 1
            let degreeLabels = stride(from: 0, through: maxDegree, by: max(maxDegree / 8, 1)).map { (Double($0) + 0.5, String($0)) }
            b += countBars(g.levelZeroDegreeHistogram, binNames: g.levelZeroDegreeHistogram.indices.map { "degree \($0)" },
                           colour: Colour.degree, name: "elements", labels: degreeLabels,
                           title: "layer 0 degree histogram", xTitle: "layer 0 degree") + "\n"
            b += table(["layer", "nodes", "min degree", "mean degree", "max degree"],
                       g.layers.map { [String($0.layer), String($0.nodes), String($0.minDegree), f($0.meanDegree, 2), String($0.maxDegree)] }) + "\n"
        } else {
            b += "<p class=\"note\">This run has no quality section (it was trained before the quality report).</p>\n"
        }

        b += "<h2 id=\"timings\">Timings and memory</h2>\n"
        let phases = orderedTimings(m.timingsSeconds)
        b += hbars(phases.map { ($0.0, $0.1) }, colour: Colour.timing, unit: "s", title: "phase timings") + "\n"
        b += table(["phase", "seconds"], phases.map { [$0.0, f($0.1, 3)] }) + "\n"
        b += "<p>Peak resident memory: \(mib(m.peakRSSBytes)).</p>\n"

        if let c = m.cluster {
            b += "<h2 id=\"cluster\">Cluster</h2>\n"
            b += "<p>\(escape(c.mode)) build: \(counted(c.shards, "shard")), \(counted(c.workers, "worker")), \(counted(c.jobsRun, "job")), \(counted(c.retries, "retry", "retries")), \(c.resumedJobs) resumed, "
            b += "\(counted(c.rejectedMessages, "rejected message")); plan \(f(c.planSeconds, 2)) s, merge layer 0 \(f(c.mergeLevelZeroSeconds, 2)) s, "
            b += "upper layers \(f(c.mergeUpperSeconds, 2)) s, repair \(f(c.mergeRepairSeconds, 2)) s.</p>\n"
            b += countBars(c.shardSizes, binNames: c.shardSizes.indices.map { "shard \($0)" }, colour: Colour.shard, name: "items",
                           labels: c.shardSizes.indices.map { (Double($0) + 0.5, String($0)) }, title: "shard sizes", xTitle: "shard") + "\n"
            b += table(["shard", "items", "build seconds", "refine seconds"], c.shardSizes.indices.map { i in
                [String(i), String(c.shardSizes[i]), i < c.shardBuildSeconds.count ? f(c.shardBuildSeconds[i], 3) : "",
                 i < c.refineSeconds.count ? f(c.refineSeconds[i], 3) : ""]
            }) + "\n"
            if !c.jobsPerWorker.isEmpty {
                b += table(["worker", "jobs"], c.jobsPerWorker.sorted { $0.key < $1.key }.map { [$0.key, String($0.value)] }) + "\n"
            }
        }
        b += "</body></html>\n"
        return b
    }

    /// Horizontal bars, one per named value.
    static func hbars(_ values: [(String, Double)], colour: String, unit: String, title: String) -> String {
        let rowH = 22.0, labelW = 110.0, w = width
        let h = rowH * Double(values.count) + 10
        let maxV = max(values.map(\.1).max() ?? 0, 1e-9)
        var s = "<svg width=\"\(Int(w))\" height=\"\(Int(h))\" viewBox=\"0 0 \(Int(w)) \(Int(h))\" role=\"img\" aria-label=\"\(escape(title))\">"
        for (i, (name, v)) in values.enumerated() {
            let y = 5 + rowH * Double(i)
            let bw = max((w - labelW - 90) * v / maxV, 1)
            s += "<text x=\"\(f(labelW - 6, 2))\" y=\"\(f(y + 15, 2))\" text-anchor=\"end\" font-size=\"12\">\(escape(name))</text>"
            s += "<rect x=\"\(labelW)\" y=\"\(f(y + 3, 2))\" width=\"\(f(bw, 2))\" height=\"\(f(rowH - 6, 2))\" fill=\"\(colour)\"/>"
            s += "<text x=\"\(f(labelW + bw + 6, 2))\" y=\"\(f(y + 15, 2))\" font-size=\"12\">\(f(v, 2)) \(unit)</text>"
        }
        return s + "</svg>"
    }
}
