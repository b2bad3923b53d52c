import Foundation
import HNSW

/// TensorBoard Embedding Projector files: vectors.tsv (no header), metadata.tsv (a header only with
/// more than one column; tabs and newlines replaced; empty values as a placeholder),
/// projector_config.pbtxt for `tensorboard --logdir`, and projector_config.json for the standalone
/// projector. Above `max_points` rows a seeded sample is exported.
public enum ProjectorExporter {
    /// Returns how many points were written.
    public static func write(folder: String, catalog: Catalog, idColumn: String, vectors: [Float], dimension d: Int,
                             weights: [Double], config t: TrainerConfig.TensorBoard, seed: Int) throws -> Int {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let n = catalog.count
        let rows = catalog.projectorRows ?? sample(count: n, maxPoints: t.maxPoints, seed: seed) ?? Array(0..<n)
        var v = ""
        v.reserveCapacity(rows.count * d * 10)
        for r in rows {
            for j in 0..<d {
                if j > 0 { v += "\t" }
                v += vectors[r * d + j].description
            }
            v += "\n"
        }
        try write(v, to: folder + "/vectors.tsv")
        let columns = t.metadataColumns.isEmpty ? [idColumn] : t.metadataColumns
        // The computed weight gets a header of its own when a user column is already called item_weight.
        let weightHeader = columns.contains("item_weight") ? "trainer_item_weight" : "item_weight"
        var m = (columns + [weightHeader]).map(clean).joined(separator: "\t") + "\n"
        for r in rows {
            let cells = try columns.map { try cell($0, row: r, catalog: catalog, idColumn: idColumn) }
            m += (cells + [String(weights[r])]).joined(separator: "\t") + "\n"
        }
        try write(m, to: folder + "/metadata.tsv")
        try write("embeddings {\n  tensor_name: \(ParquetJSON.quoted(t.embeddingName))\n  tensor_path: \"vectors.tsv\"\n  metadata_path: \"metadata.tsv\"\n}\n",
                  to: folder + "/projector_config.pbtxt")
        let json = "{\"embeddings\":[{\"tensorName\":\(ParquetJSON.quoted(t.embeddingName)),\"tensorShape\":[\(rows.count),\(d)],"
            + "\"tensorPath\":\"vectors.tsv\",\"metadataPath\":\"metadata.tsv\"}]}\n"
        try write(json, to: folder + "/projector_config.json")
        return rows.count
    }

    /// The rows exported when a catalog has more than `maxPoints` items: a seeded sample, in row
    /// order; nil when every row is exported.
    public static func sample(count n: Int, maxPoints: Int, seed: Int) -> [Int]? {
        guard n > maxPoints else { return nil }
        var rows = Array(0..<n)
        var g = SyntheticVectors.Generator(seed: UInt64(seed) &+ 0x5EED)
        rows.shuffle(using: &g)
        return Array(rows.prefix(maxPoints)).sorted()
    }

    static func cell(_ column: String, row: Int, catalog: Catalog, idColumn: String) throws -> String {
        if column == idColumn { return clean(catalog.ids[row]) }
        switch catalog.columns[column] {
        case .numeric(let v)?: return v[row].isNaN ? "<missing>" : clean(CatalogLoader.format(v[row]))
        case .categorical(let codes, let values)?: return codes[row] < 0 ? "<missing>" : clean(values[Int(codes[row])].description)
        case nil: throw InputError("export.tensorboard.metadata_columns: column '\(column)' is in neither input")
        }
    }

    /// No quoting exists in these files: tabs and line breaks become spaces, empty becomes a placeholder.
    static func clean(_ s: String) -> String {
        let t = String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
        return t.trimmingCharacters(in: .whitespaces).isEmpty ? "<empty>" : t
    }

    static func write(_ text: String, to path: String) throws { try FileIO.writeAtomically(text.utf8, to: path) }
}
