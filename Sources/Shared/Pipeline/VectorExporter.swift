import Foundation
import HNSW

/// Writes the pipeline's outputs: `vectors.npy` (float32, row i = label i), `item_weights.npy`,
/// `labels.tsv` (label, item id) and `pipeline.json`, each atomically.
public enum VectorExporter {
    public static func write(folder: String, ids: [String], vectors: [Float], dimension: Int, weights: [Double],
                             pipeline: FeaturePipeline) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try NPY.write(FloatMatrix(rows: ids.count, cols: dimension, values: vectors), to: folder + "/vectors.npy")
        try NPY.write(FloatMatrix(rows: ids.count, cols: 1, values: weights.map { Float($0) }), to: folder + "/item_weights.npy")
        var tsv = ""
        tsv.reserveCapacity(ids.count * 16)
        for (i, id) in ids.enumerated() {
            tsv += "\(i)\t\(escape(id))\n"
        }
        try FileIO.writeAtomically(tsv.utf8, to: folder + "/labels.tsv")
        try pipeline.save(to: folder + "/pipeline.json")
    }

    /// Tabs, newlines and backslashes in ids are escaped so every label stays on one line.
    static func escape(_ s: String) -> String {
        guard s.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\\" }) else { return s }
        return s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\t", with: "\\t")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\r", with: "\\r")
    }

    /// The inverse of `escape`.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var out = ""
        var it = s.makeIterator()
        while let c = it.next() {
            guard c == "\\", let e = it.next() else {
                out.append(c)
                continue
            }
            switch e {
            case "t": out.append("\t")
            case "n": out.append("\n")
            case "r": out.append("\r")
            default: out.append(e)
            }
        }
        return out
    }
}
