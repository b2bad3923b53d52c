import Foundation
import HNSW

/// The fitted feature pipeline: everything needed to vectorise an item exactly as the run that fitted
/// it did. Saved as `models/pipeline.json`.
public struct FeaturePipeline: Codable, Equatable, Sendable {
    /// 3: snake_case keys throughout, categories as plain JSON values, `output_columns` naming every
    /// output column.
    public static let formatVersion = 3

    public var formatVersion: Int
    public var seed: Int
    public var idColumn: String
    public var scaling: String
    public var sampleWeightFit: Bool
    public var scaleRows: Bool
    public var numeric: [CleanedColumn]
    public var numericScalers: [Scaler]
    public var onehot: [OneHotColumn]
    public var targetColumn: String?
    /// For a binary target: its two values, sorted; the second is 1.
    public var binaryClasses: [Double]?
    public var targetEncoded: [TargetEncodedColumn]
    public var weighting: WeightingState
    public var dimension: Int
    /// The name of each output column, in vector order: `unit_cost`, `process=forging`,
    /// `process=<infrequent>`, `te:supplier`, so a vector can be read.
    public var outputColumns: [String]

    enum CodingKeys: String, CodingKey {
        case formatVersion = "format_version", seed, idColumn = "id_column", scaling, sampleWeightFit = "sample_weight_fit",
             scaleRows = "scale_rows", numeric, numericScalers = "numeric_scalers", onehot, targetColumn = "target_column",
             binaryClasses = "binary_classes", targetEncoded = "target_encoded", weighting, dimension, outputColumns = "output_columns"
    }

    /// Output column names, in order.
    static func columnNames(numeric: [CleanedColumn], onehot: [OneHotColumn], targetEncoded: [TargetEncodedColumn]) -> [String] {
        var names = numeric.map(\.name)
        for o in onehot {
            let inf = Set(o.infrequent)
            for (i, c) in o.categories.enumerated() where !inf.contains(i) { names.append("\(o.name)=\(c?.description ?? "<missing>")") }
            if !o.infrequent.isEmpty { names.append("\(o.name)=<infrequent>") }
        }
        names += targetEncoded.map { "te:\($0.name)" }
        return names
    }

    /// Fits the pipeline on `catalog` and returns it with the catalog's vectors (row-major Float32)
    /// and item weights.
    public static func fit(_ catalog: Catalog, config: TrainerConfig) throws -> (FeaturePipeline, [Float], [Double]) {
        let n = catalog.count
        let weighting = try WeightingState.fit(catalog, config: config.weighting)
        let w = try weighting.weights(catalog)
        let fitWeights = config.weighting.sampleWeightFit ? w : nil
        // Columns are independent: fit them on every core.
        let fittedNumeric = try ParallelColumns.map(config.features.numeric.count) { j -> (CleanedColumn, Scaler, [Double]) in
            let name = config.features.numeric[j]
            let raw = try catalog.numeric(name)
            let cleaned = try DataCleaner.fit(name: name, raw: raw, logTransform: config.features.logTransform.contains(name),
                                              missing: config.cleaning.numericMissing, outliers: config.cleaning.outliers,
                                              k: config.cleaning.iqrK, ids: catalog.ids, source: catalog.sources[name] ?? "input")
            let x = try cleaned.apply(raw, ids: catalog.ids, source: catalog.sources[name] ?? "input")
            let s = Scaler.fit(config.scaling, x, weights: fitWeights)
            return (cleaned, s, x.map(s.apply))
        }
        let numeric = fittedNumeric.map(\.0)
        let numericScalers = fittedNumeric.map(\.1)
        let blocks = fittedNumeric.map(\.2)
        var onehot: [OneHotColumn] = []
        for name in config.features.onehot {
            let (codes, values) = try catalog.categorical(name)
            onehot.append(OneHotColumn.fit(name: name, codes: codes, values: values, minFrequency: config.onehot.minFrequency,
                                           maxCategories: config.onehot.maxCategories))
        }
        var targetEncoded: [TargetEncodedColumn] = []
        var binary: [Double]?
        var teBlocks: [[Double]] = []
        if let target = config.features.target, !config.features.targetEncode.isEmpty {
            var y = try catalog.numeric(target)
            let hasTarget = y.map { !$0.isNaN }
            guard hasTarget.contains(true) else {
                throw InputError("\(catalog.sources[target] ?? "input"): the target column '\(target)' has no values")
            }
            let targetRows = hasTarget.lazy.filter { $0 }.count
            guard targetRows >= config.targetEncoding.cv else {
                throw InputError("target_encoding.cv is \(config.targetEncoding.cv), but only \(targetRows) items have a value in the target column '\(target)'; use cv ≤ \(targetRows) (scikit-learn's KFold refuses the same)")
            }
            let distinct = Set(y.filter { !$0.isNaN })
            if distinct.count == 2 {
                let classes = distinct.sorted()
                binary = classes
                y = y.map { $0.isNaN ? $0 : ($0 == classes[1] ? 1 : 0) }
            }
            let yy = y
            let fittedTE = try ParallelColumns.map(config.features.targetEncode.count) { j -> (TargetEncodedColumn, [Double]) in
                let (codes, values) = try catalog.categorical(config.features.targetEncode[j])
                var (column, raw) = TargetEncodedColumn.fit(name: config.features.targetEncode[j], codes: codes, values: values,
                                                            y: yy, hasTarget: hasTarget, cv: config.targetEncoding.cv,
                                                            seed: config.seed, smooth: config.targetEncoding.smooth)
                column.scaler = Scaler.fit(config.scaling, raw, weights: fitWeights)
                raw = raw.map(column.scaler.apply)
                return (column, raw)
            }
            targetEncoded = fittedTE.map(\.0)
            teBlocks = fittedTE.map(\.1)
        }
        let dimension = numeric.count + onehot.reduce(0) { $0 + $1.width } + targetEncoded.count
        let pipeline = FeaturePipeline(formatVersion: formatVersion, seed: config.seed, idColumn: config.input.idColumn,
                                       scaling: config.scaling, sampleWeightFit: config.weighting.sampleWeightFit,
                                       scaleRows: config.weighting.scaleRows, numeric: numeric, numericScalers: numericScalers,
                                       onehot: onehot, targetColumn: config.features.target, binaryClasses: binary,
                                       targetEncoded: targetEncoded, weighting: weighting, dimension: dimension,
                                       outputColumns: columnNames(numeric: numeric, onehot: onehot, targetEncoded: targetEncoded))
        let rows = try pipeline.assemble(catalog, numericBlocks: blocks, targetBlocks: teBlocks, weights: w, count: n)
        return (pipeline, rows, w)
    }

    /// Vectorises rows with the fitted state: new items get the full-fit encodings.
    public func transform(_ catalog: Catalog) throws -> (vectors: [Float], weights: [Double]) {
        let w = try weighting.weights(catalog)
        var blocks: [[Double]] = []
        for (i, col) in numeric.enumerated() {
            let x = try col.apply(try catalog.numeric(col.name), ids: catalog.ids, source: catalog.sources[col.name] ?? "input")
            blocks.append(x.map(numericScalers[i].apply))
        }
        var te: [[Double]] = []
        for col in targetEncoded {
            let (codes, values) = try catalog.categorical(col.name)
            te.append(col.transform(codes: codes, values: values).map(col.scaler.apply))
        }
        return (try assemble(catalog, numericBlocks: blocks, targetBlocks: te, weights: w, count: catalog.count), w)
    }

    private func assemble(_ catalog: Catalog, numericBlocks: [[Double]], targetBlocks: [[Double]], weights: [Double], count n: Int) throws -> [Float] {
        let d = dimension
        var out = [Float](repeating: 0, count: n * d)
        func factor(_ r: Int) -> Double { scaleRows ? weights[r] : 1 }
        for (j, b) in numericBlocks.enumerated() {
            for r in 0..<n { out[r * d + j] = Float(b[r] * factor(r)) }
        }
        var offset = numericBlocks.count
        for o in onehot {
            let (codes, values) = try catalog.categorical(o.name)
            var block = [Double](repeating: 0, count: n * o.width)
            o.transform(codes: codes, values: values, into: &block, offset: 0, stride: o.width)
            for r in 0..<n {
                for j in 0..<o.width where block[r * o.width + j] != 0 { out[r * d + offset + j] = Float(block[r * o.width + j] * factor(r)) }
            }
            offset += o.width
        }
        for b in targetBlocks {
            for r in 0..<n { out[r * d + offset] = Float(b[r] * factor(r)) }
            offset += 1
        }
        return out
    }

    /// Writes the pipeline as JSON (doubles round-trip exactly), atomically.
    public func save(to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let data = try enc.encode(self)
        try FileIO.writeAtomically(data, to: path)
    }

    public static func load(path: String) throws -> FeaturePipeline {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw InputError("\(path): cannot read the fitted pipeline")
        }
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        let p: FeaturePipeline
        do { p = try dec.decode(FeaturePipeline.self, from: data) } catch {
            throw InputError("\(path): not a fitted pipeline: \(error)")
        }
        guard p.formatVersion == formatVersion, p.outputColumns.count == p.dimension else {
            throw InputError("\(path): pipeline format version \(p.formatVersion), this trainer reads \(formatVersion); retrain")
        }
        return p
    }
}
