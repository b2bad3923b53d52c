import Foundation
import HNSW

/// TensorBoard Embedding Projector files: vectors.tsv (no header), metadata.tsv (a header only with
/// more than one column; tabs and newlines replaced; empty values as a placeholder),
/// projector_config.pbtxt for `tensorboard --logdir`, and projector_config.json for the standalone
/// projector. Above `max_points` rows a seeded sample is exported.
public enum ProjectorExporter {
    /// The exported points, chosen and labelled from the catalog as soon as it is loaded, so the
    /// catalog can be released before the index is built (at 10M items it is larger than the vectors).
    public struct Points: Sendable {
        /// Per point, the row of the model's vectors and weights it shows.
        public var labels: [Int]
        /// Per point, its metadata cells joined by tabs (the weight is appended when written).
        var cells: [String]
        /// metadata.tsv's header line.
        var header: String
    }

    /// Chooses the points of `catalog` (its projector sample, or every row) and reads their metadata.
    /// Row r of the catalog shows label `label(r)`; `extra` items follow with their id and missing
    /// metadata (items an incremental run keeps although they left the input).
    public static func points(catalog: Catalog, idColumn: String, config t: TrainerConfig.TensorBoard, seed: Int,
                              label: (Int) -> Int = { $0 }, extra: [(label: Int, id: String)] = []) throws -> Points {
        let n = catalog.count + extra.count
        let rows = catalog.projectorRows ?? sample(count: n, maxPoints: t.maxPoints, seed: seed) ?? Array(0..<n)
        let columns = t.metadataColumns.isEmpty ? [idColumn] : t.metadataColumns
        // The computed weight gets a header of its own when a user column is already called item_weight.
        let weightHeader = columns.contains("item_weight") ? "trainer_item_weight" : "item_weight"
        var points = Points(labels: [], cells: [], header: (columns + [weightHeader]).map(clean).joined(separator: "\t"))
        points.labels.reserveCapacity(rows.count)
        points.cells.reserveCapacity(rows.count)
        for r in rows {
            if r < catalog.count {
                points.labels.append(label(r))
                points.cells.append(try columns.map { try cell($0, row: r, catalog: catalog, idColumn: idColumn) }.joined(separator: "\t"))
            } else {
                let kept = extra[r - catalog.count]
                points.labels.append(kept.label)
                points.cells.append(try columns.map { column -> String in
                    if column == idColumn { return clean(kept.id) }
                    guard catalog.columns[column] != nil else { throw missingColumn(column) }
                    return "<missing>"
                }.joined(separator: "\t"))
            }
        }
        return points
    }

    /// Writes the projector files for `points`, reading each point's vector and weight by its label.
    /// Returns how many points were written.
    public static func write(folder: String, points: Points, vectors: [Float], dimension d: Int,
                             weights: [Double], config t: TrainerConfig.TensorBoard) throws -> Int {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var v = ""
        v.reserveCapacity(points.labels.count * d * 10)
        for label in points.labels {
            for j in 0..<d {
                if j > 0 { v += "\t" }
                v += vectors[label * d + j].description
            }
            v += "\n"
        }
        try write(v, to: folder + "/vectors.tsv")
        var m = points.header + "\n"
        for (label, cells) in zip(points.labels, points.cells) { m += cells + "\t" + String(weights[label]) + "\n" }
        try write(m, to: folder + "/metadata.tsv")
        try write("embeddings {\n  tensor_name: \(ParquetJSON.quoted(t.embeddingName))\n  tensor_path: \"vectors.tsv\"\n  metadata_path: \"metadata.tsv\"\n}\n",
                  to: folder + "/projector_config.pbtxt")
        let json = "{\"embeddings\":[{\"tensorName\":\(ParquetJSON.quoted(t.embeddingName)),\"tensorShape\":[\(points.labels.count),\(d)],"
            + "\"tensorPath\":\"vectors.tsv\",\"metadataPath\":\"metadata.tsv\"}]}\n"
        try write(json, to: folder + "/projector_config.json")
        return points.labels.count
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
        case nil: throw missingColumn(column)
        }
    }

    static func missingColumn(_ column: String) -> InputError {
        InputError("export.tensorboard.metadata_columns: column '\(column)' is in neither input")
    }

    /// No quoting exists in these files: tabs and line breaks become spaces, empty becomes a placeholder.
    static func clean(_ s: String) -> String {
        let t = String(s.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
        return t.trimmingCharacters(in: .whitespaces).isEmpty ? "<empty>" : t
    }

    static func write(_ text: String, to path: String) throws { try FileIO.writeAtomically(text.utf8, to: path) }
}
