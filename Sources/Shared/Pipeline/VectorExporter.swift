import Foundation
import HNSW

/// Writes the pipeline's outputs: `vectors.npy` (float32, row i = label i), `item_weights.npy`,
/// `labels.tsv` (label, item id) and `pipeline.json`, each atomically.
public enum VectorExporter {
    /// The files `write` makes, in the order it writes them (with `numpy`).
    public static let fileNames = ["vectors.npy", "item_weights.npy", "labels.tsv", "pipeline.json"]

    /// Without `numpy`, the two `.npy` files are left out (`export.numpy: false`).
    public static func write(folder: String, ids: [String], vectors: [Float], dimension: Int, weights: [Double],
                             pipeline: FeaturePipeline, numpy: Bool = true) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if numpy {
            try NPY.write(FloatMatrix(rows: ids.count, cols: dimension, values: vectors), to: folder + "/vectors.npy")
            try NPY.write(FloatMatrix(rows: ids.count, cols: 1, values: weights.map { Float($0) }), to: folder + "/item_weights.npy")
        }
        try FileIO.writeLines(count: ids.count, to: folder + "/labels.tsv") { i in "\(i)\t\(escape(ids[i]))\n" }
        try pipeline.save(to: folder + "/pipeline.json")
    }

    /// Tabs, line feeds, carriage returns and backslashes in ids are written as `\t`, `\n`, `\r` and
    /// `\\`, so every label stays on one line (the README shows how pandas reads them back).
    /// Scalars, not Characters: "\r\n" is one Character and would slip past a Character test.
    static func escape(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\\" }) else { return s }
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u {
            case "\\": out.append(contentsOf: "\\\\".unicodeScalars)
            case "\t": out.append(contentsOf: "\\t".unicodeScalars)
            case "\n": out.append(contentsOf: "\\n".unicodeScalars)
            case "\r": out.append(contentsOf: "\\r".unicodeScalars)
            default: out.append(u)
            }
        }
        return String(out)
    }

    /// The inverse of `escape`.
    static func unescape(_ s: String) -> String {
        guard s.unicodeScalars.contains("\\") else { return s }
        var out = String.UnicodeScalarView()
        var it = s.unicodeScalars.makeIterator()
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
        return String(out)
    }
}
