import Foundation

/// Loads `features.parquet` and `item_metadata.json`, joins them on the id column, and checks every
/// column the configuration names: present, of the right kind, no duplicate ids, no infinities.
public enum CatalogLoader {
    /// The columns the pipeline needs, by role.
    public struct Needs: Sendable {
        public var numeric: [String]
        public var categorical: [String]
        public var target: String?
        /// Columns used as-is (weights, projector metadata): numeric or text, taken from either input.
        public var passthrough: [String]

        public init(config c: TrainerConfig) {
            numeric = c.features.numeric
            categorical = c.features.onehot + c.features.targetEncode
            target = c.features.target
            var extra: [String] = []
            if let w = c.weighting.itemWeightColumn { extra.append(w) }
            if let d = c.weighting.domainColumn { extra.append(d) }
            extra += c.export.tensorboard.metadataColumns
            let (num, cat, tgt) = (numeric, categorical, target)
            passthrough = extra.filter { !num.contains($0) && !cat.contains($0) && $0 != tgt && $0 != c.input.idColumn }
        }

        var all: [String] { numeric + categorical + (target.map { [$0] } ?? []) + passthrough }
    }

    public static func load(config: TrainerConfig) throws -> Catalog {
        let needs = Needs(config: config)
        let idColumn = config.input.idColumn
        let path = config.input.features
        let reader: ParquetReader
        do { reader = try ParquetReader(path: path) } catch let e as ParquetError { throw InputError("\(e)") }
        let available = Set(reader.schema.columns.map(\.name))
        guard available.contains(idColumn) else {
            throw InputError("\(path): the id column '\(idColumn)' (input.id_column) is missing; the file has \(reader.schema.columns.map(\.name).joined(separator: ", "))")
        }
        let fromFeatures = needs.all.filter { available.contains($0) }
        let fromMetadata = needs.all.filter { !available.contains($0) }
        if !fromMetadata.isEmpty && config.input.itemMetadata == nil {
            throw InputError("\(path): column '\(fromMetadata[0])' is missing (and no input.item_metadata is configured)")
        }
        let data: [ParquetColumnData]
        do { data = try reader.read(columns: [idColumn] + fromFeatures) } catch let e as ParquetError { throw InputError("\(e)") }
        let ids = try idStrings(data[0], path: path)
        guard !ids.isEmpty else { throw InputError("\(path): the catalog is empty (no rows)") }
        var position: [String: Int] = [:]
        position.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() where position.updateValue(i, forKey: id) != nil {
            throw InputError("\(path): item id '\(id)' appears more than once in column '\(idColumn)'")
        }
        var columns: [String: CatalogColumn] = [:]
        var sources: [String: String] = [:]
        for col in data.dropFirst() {
            columns[col.descriptor.name] = try convert(col, path: path, ids: ids)
            sources[col.descriptor.name] = path
        }
        if let meta = config.input.itemMetadata, !fromMetadata.isEmpty || FileManager.default.fileExists(atPath: meta) {
            let joined = try loadMetadata(meta, idColumn: idColumn, wanted: fromMetadata, position: position, count: ids.count)
            for (name, column) in joined {
                columns[name] = column
                sources[name] = meta
            }
        }
        let catalog = Catalog(ids: ids, columns: columns, sources: sources)
        try validate(catalog, needs: needs)
        return catalog
    }

    static func idStrings(_ c: ParquetColumnData, path: String) throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(c.count)
        for i in 0..<c.count {
            guard c.isValid(i) else { throw InputError("\(path): row \(i) has no item id in column '\(c.descriptor.name)'") }
            switch c.values {
            case .int32(let v): out.append(String(v[i]))
            case .int64(let v): out.append(String(v[i]))
            case .bytes(let b): out.append(b.string(i))
            case .dictionary(let codes, let values): out.append(values.string(Int(codes[i])))
            default: throw InputError("\(path): the id column '\(c.descriptor.name)' must hold text or integers, not \(c.descriptor.physicalType)")
            }
        }
        return out
    }

    /// A Parquet column as a catalog column: numbers (missing → NaN) or categories.
    static func convert(_ c: ParquetColumnData, path: String, ids: [String]) throws -> CatalogColumn {
        let n = c.count
        func numbers(_ get: (Int) -> Double) -> CatalogColumn {
            .numeric((0..<n).map { c.isValid($0) ? get($0) : .nan })
        }
        switch c.values {
        case .int32(let v): return numbers { Double(v[$0]) }
        case .int64(let v): return numbers { Double(v[$0]) }
        case .float(let v): return numbers { Double(v[$0]) }
        case .double(let v): return numbers { v[$0] }
        case .boolean(let v): return numbers { v[$0] ? 1 : 0 }
        case .dictionary(let codes, let values):
            let strings = (0..<values.count).map { CategoryValue.string(values.string($0)) }
            return .categorical(codes: codes, values: strings)
        case .bytes(let b):
            // Interned as bytes: one String per distinct value, none per row.
            var interner = ByteStringInterner()
            var codes = [Int32](repeating: -1, count: n)
            for i in 0..<n where c.isValid(i) { codes[i] = interner.intern(b[i]) }
            let distinct = interner.values
            return .categorical(codes: codes, values: (0..<distinct.count).map { .string(distinct.string($0)) })
        }
    }

    /// Streams the metadata file, keeping only `wanted` keys of items present in the features.
    static func loadMetadata(_ path: String, idColumn: String, wanted: [String], position: [String: Int], count: Int) throws -> [String: CatalogColumn] {
        let reader: JSONRecordReader
        do { reader = try JSONRecordReader(path: path) } catch let e as JSONInputError { throw InputError("\(e)") }
        // Per wanted column (by position): numbers, text values and kinds, filled row by row.
        var numbers = [[Double]](repeating: [Double](repeating: .nan, count: count), count: wanted.count)
        var texts = [[String?]](repeating: [], count: wanted.count)
        var isText = [Bool](repeating: false, count: wanted.count)
        var present = [Bool](repeating: false, count: wanted.count)
        var record = 0
        var matched = [Bool](repeating: false, count: count)
        var orphans = Set<String>()
        let keys = ([idColumn] + wanted).map { Array($0.utf8) }
        do {
            while let r = try reader.next(keys: keys) {
                record += 1
                let id: String
                switch r[0] {
                case .string(let s)?: id = s
                case .number(let x)? where x == x.rounded() && abs(x) < 9e15: id = String(Int64(x))
                default: throw InputError("\(path): record \(record) has no usable '\(idColumn)' (input.id_column)")
                }
                guard let row = position[id] else {
                    guard orphans.insert(id).inserted else { throw InputError("\(path): item id '\(id)' appears more than once") }
                    continue
                }
                guard !matched[row] else { throw InputError("\(path): item id '\(id)' appears more than once") }
                matched[row] = true
                for k in wanted.indices {
                    guard let v = r[k + 1] else { continue }
                    present[k] = true
                    switch v {
                    case .number(let x): numbers[k][row] = x
                    case .string(let s):
                        if !isText[k] {
                            isText[k] = true
                            texts[k] = [String?](repeating: nil, count: count)
                        }
                        texts[k][row] = s
                    case .bool(let b): numbers[k][row] = b ? 1 : 0
                    case .null: break
                    case .nested: throw InputError("\(path): item '\(id)' has a nested value for '\(wanted[k])'; only scalars are supported")
                    }
                }
            }
        } catch let e as JSONInputError {
            throw InputError("\(e)")
        }
        var out: [String: CatalogColumn] = [:]
        for (k, w) in wanted.enumerated() {
            guard present[k] else { throw InputError("column '\(w)' is in neither the features file nor \(path)") }
            guard isText[k] else {
                out[w] = .numeric(numbers[k])
                continue
            }
            // A column with any text is categorical; its numbers become their decimal text.
            var index: [String: Int32] = [:]
            var values: [CategoryValue] = []
            var codes = [Int32](repeating: -1, count: count)
            for row in 0..<count {
                guard let s = texts[k][row] ?? (numbers[k][row].isNaN ? nil : Self.format(numbers[k][row])) else { continue }
                if let c = index[s] { codes[row] = c } else {
                    index[s] = Int32(values.count)
                    codes[row] = Int32(values.count)
                    values.append(.string(s))
                }
            }
            out[w] = .categorical(codes: codes, values: values)
        }
        return out
    }

    static func format(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x) }

    /// Kinds, infinities and all-missing columns.
    static func validate(_ c: Catalog, needs: Needs) throws {
        for name in needs.numeric + (needs.target.map { [$0] } ?? []) {
            let v = try c.numeric(name)
            if let i = v.firstIndex(where: { $0.isInfinite }) {
                throw InputError("\(c.sources[name] ?? "input"): column '\(name)' holds \(v[i]) for item '\(c.ids[i])'; infinities are not allowed")
            }
            if needs.numeric.contains(name), v.allSatisfy({ $0.isNaN }) {
                throw InputError("\(c.sources[name] ?? "input"): column '\(name)' has no values (every row is missing)")
            }
        }
        for name in needs.categorical {
            _ = try c.categorical(name)
        }
    }
}
