import Foundation

/// Loads `features.parquet` and `item_metadata.json`, joins them on the id column, and checks every
/// column the configuration names: present, of the right kind, no duplicate ids, no infinities.
public enum CatalogLoader {
    /// The columns a run needs, with their roles resolved once: a column named in several roles
    /// (the target also a numeric feature, the domain column also a projector column) is loaded once
    /// and serves every role.
    public struct Needs: Sendable {
        public var numeric: [String]
        public var categorical: [String]
        public var target: String?
        /// Columns that feed the vectors or the weights: a change in any of them changes an item's
        /// vector or weight. Projector-only columns are not among them.
        public var featureInputs: [String]
        /// Every column to load, each once, in first-named order.
        public var all: [String]

        public init(config c: TrainerConfig) {
            numeric = c.features.numeric
            categorical = c.features.onehot + c.features.targetEncode
            target = c.features.target
            var inputs = numeric + categorical + (target.map { [$0] } ?? [])
            if let w = c.weighting.itemWeightColumn { inputs.append(w) }
            if let d = c.weighting.domainColumn { inputs.append(d) }
            func unique(_ names: [String]) -> [String] {
                var seen = Set<String>()
                return names.filter { $0 != c.input.idColumn && seen.insert($0).inserted }
            }
            featureInputs = unique(inputs)
            all = unique(inputs + c.export.tensorboard.metadataColumns)
        }
    }

    /// Loads and joins the inputs. A column found in both inputs is taken from the features file;
    /// a warning (in `Catalog.warnings`) says so when the metadata file's values differ.
    public static func load(config: TrainerConfig) throws -> Catalog {
        let needs = Needs(config: config)
        let idColumn = config.input.idColumn
        let path = config.input.features
        let reader: ParquetReader
        do { reader = try ParquetReader(path: path) } catch let e as ParquetError { throw InputError("\(e)") }
        let flat = reader.schema.columns.filter { !$0.isNested }
        let available = Set(flat.map(\.name))
        func nested(_ name: String) -> ParquetColumnDescriptor? {
            reader.schema.columns.first { $0.isNested && ($0.name == name || $0.path.first == name) }
        }
        guard available.contains(idColumn) else {
            if let n = nested(idColumn) {
                throw InputError("\(path): the id column '\(idColumn)' (input.id_column) is nested (\(n.name)); only flat columns can be used")
            }
            throw InputError("\(path): the id column '\(idColumn)' (input.id_column) is missing; the file has \(flat.map(\.name).joined(separator: ", "))")
        }
        let fromFeatures = needs.all.filter { available.contains($0) }
        let fromMetadata = needs.all.filter { !available.contains($0) }
        if !fromMetadata.isEmpty && config.input.itemMetadata == nil {
            let name = fromMetadata[0]
            if let n = nested(name) {
                throw InputError("\(path): column '\(name)' is nested (\(n.name)); only flat columns can be used, and no input.item_metadata is configured")
            }
            throw InputError("\(path): column '\(name)' is missing (and no input.item_metadata is configured)")
        }
        let data: [ParquetColumnData]
        do { data = try reader.read(columns: [idColumn] + fromFeatures) } catch let e as ParquetError { throw InputError("\(e)") }
        let ids = try idStrings(data[0], path: path)
        guard !ids.isEmpty else { throw InputError("\(path): the catalog is empty (no rows)") }
        var position: [ItemKey: Int] = [:]
        position.reserveCapacity(ids.count)
        for (i, id) in ids.enumerated() where position.updateValue(i, forKey: ItemKey(id)) != nil {
            throw InputError("\(path): item id '\(id)' appears more than once in column '\(idColumn)'")
        }
        var columns: [String: CatalogColumn] = [:]
        var sources: [String: String] = [:]
        for col in data.dropFirst() {
            columns[col.descriptor.name] = convert(col)
            sources[col.descriptor.name] = path
        }
        var warnings: [String] = []
        if let meta = config.input.itemMetadata {
            let joined = try loadMetadata(meta, idColumn: idColumn, wanted: needs.all, position: position, ids: ids)
            if joined.matched > 0, joined.matched < ids.count {
                warnings.append("\(ids.count - joined.matched) of \(ids.count) items of \(path) have no record in \(meta) (for example '\(joined.missingExample ?? "?")'); their metadata columns are missing values")
            }
            if joined.matched > 0, joined.unmatched > 0 {
                warnings.append("\(joined.unmatched) records of \(meta) match no item id of \(path) (for example '\(joined.unmatchedExample ?? "?")'); they are ignored")
            }
            for name in fromMetadata where joined.columns[name] == nil {
                throw missing(name, join: joined, meta: meta, features: path, ids: ids, idColumn: idColumn, nested: nested(name)?.name)
            }
            for (name, column) in joined.columns.sorted(by: { $0.key < $1.key }) {
                if let fromParquet = columns[name] {
                    if let d = differences(fromParquet, column) {
                        warnings.append("column '\(name)' is in both \(path) and \(meta); the values of \(path) are used, and \(d.count) of \(ids.count) items differ (item '\(ids[d.first])': \(fromParquet.text(d.first) ?? "missing") against \(column.text(d.first) ?? "missing"))")
                    }
                    continue
                }
                columns[name] = column
                sources[name] = meta
            }
        }
        if let domain = config.weighting.domainColumn, let column = columns[domain], !config.weighting.domainWeights.isEmpty {
            var seen = Set<ItemKey>()
            for i in 0..<column.count { if let t = column.text(i) { seen.insert(ItemKey(t)) } }
            let unmatched = config.weighting.domainWeights.keys.filter { !seen.contains(ItemKey($0)) }.sorted()
            if !unmatched.isEmpty {
                warnings.append("weighting.domain_weights: no item has \(unmatched.map { "'\($0)'" }.joined(separator: " or ")) in column '\(domain)', so \(unmatched.count == 1 ? "that weight applies" : "those weights apply") to nothing")
            }
        }
        let catalog = Catalog(ids: ids, columns: columns, sources: sources, warnings: warnings)
        try validate(catalog, needs: needs)
        return catalog
    }

    static func idStrings(_ c: ParquetColumnData, path: String) throws -> [String] {
        var out: [String] = []
        out.reserveCapacity(c.count)
        for i in 0..<c.count {
            guard c.isValid(i) else { throw InputError("\(path): row \(i) has no item id in column '\(c.descriptor.name)'") }
            guard let id = c.idText(i) else {
                throw InputError("\(path): the id column '\(c.descriptor.name)' must hold text or integers, not \(c.descriptor.physicalType)")
            }
            out.append(id)
        }
        return out
    }

    /// A Parquet column as a catalog column: numbers (missing → NaN, logical types applied) or categories.
    static func convert(_ c: ParquetColumnData) -> CatalogColumn {
        if let numbers = c.numbers() { return .numeric(numbers) }
        let n = c.count
        switch c.values {
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
        default:
            return .numeric([Double](repeating: .nan, count: n))  // numbers() covers every other kind
        }
    }

    /// Rows where two versions of a column differ (compared as text), or nil when none does.
    static func differences(_ a: CatalogColumn, _ b: CatalogColumn) -> (count: Int, first: Int)? {
        var count = 0, first = -1
        let numbers: ([Double], [Double])? = if case .numeric(let u) = a, case .numeric(let v) = b { (u, v) } else { nil }
        for i in 0..<a.count {
            let same: Bool
            if let (u, v) = numbers { same = u[i] == v[i] || (u[i].isNaN && v[i].isNaN) } else {
                same = a.text(i).map(ItemKey.init) == b.text(i).map(ItemKey.init)
            }
            if !same {
                if first < 0 { first = i }
                count += 1
            }
        }
        return count == 0 ? nil : (count, first)
    }

    /// Streams the metadata file, keeping only `wanted` keys of items present in the features.
    static func loadMetadata(_ path: String, idColumn: String, wanted: [String], position: [ItemKey: Int], ids: [String]) throws -> MetadataJoin {
        let count = ids.count
        let reader: JSONRecordReader
        do { reader = try JSONRecordReader(path: path) } catch let e as JSONInputError { throw InputError("\(e)") }
        // Per wanted column (by position): numbers, text values and kinds, filled row by row.
        var numbers = [[Double]](repeating: [], count: wanted.count)
        var texts = [[String?]](repeating: [], count: wanted.count)
        var isText = [Bool](repeating: false, count: wanted.count)
        var present = [Bool](repeating: false, count: wanted.count)
        var record = 0
        var matched = [Bool](repeating: false, count: count)
        var matchedCount = 0
        var orphans = Set<ItemKey>()
        var firstOrphan: String?
        let keys = ([idColumn] + wanted).map { Array($0.utf8) }
        do {
            while let r = try reader.next(keys: keys) {
                record += 1
                let id: String
                switch r[0] {
                case .string(let s)?: id = s
                case .bigInteger(let digits)?: id = digits
                case .number(let x)? where x == x.rounded() && abs(x) < 0x1p53: id = String(Int64(x))
                default: throw InputError("\(path): record \(record) has no usable '\(idColumn)' (input.id_column)")
                }
                guard let row = position[ItemKey(id)] else {
                    guard orphans.insert(ItemKey(id)).inserted else { throw InputError("\(path): item id '\(id)' appears more than once") }
                    if firstOrphan == nil { firstOrphan = id }
                    continue
                }
                guard !matched[row] else { throw InputError("\(path): item id '\(id)' appears more than once") }
                matched[row] = true
                matchedCount += 1
                for k in wanted.indices {
                    guard let v = r[k + 1] else { continue }
                    if !present[k] {
                        present[k] = true
                        numbers[k] = [Double](repeating: .nan, count: count)
                    }
                    switch v {
                    case .number(let x): numbers[k][row] = x
                    case .bigInteger(let digits): numbers[k][row] = Double(digits) ?? .nan
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
            guard present[k] else {
                continue
            }
            guard isText[k] else {
                out[w] = .numeric(numbers[k])
                continue
            }
            // A column with any text is categorical; its numbers become their decimal text.
            var index: [ItemKey: Int32] = [:]
            var values: [CategoryValue] = []
            var codes = [Int32](repeating: -1, count: count)
            for row in 0..<count {
                guard let s = texts[k][row] ?? (numbers[k][row].isNaN ? nil : Self.format(numbers[k][row])) else { continue }
                if let c = index[ItemKey(s)] { codes[row] = c } else {
                    index[ItemKey(s)] = Int32(values.count)
                    codes[row] = Int32(values.count)
                    values.append(.string(s))
                }
            }
            out[w] = .categorical(codes: codes, values: values)
        }
        let firstMissing = matched.firstIndex(of: false).map { ids[$0] }
        return MetadataJoin(columns: out, records: record, matched: matchedCount, unmatched: orphans.count,
                            unmatchedExample: firstOrphan, missingExample: firstMissing)
    }

    /// What the metadata file gave: its columns and how its ids matched the features' ids.
    struct MetadataJoin {
        var columns: [String: CatalogColumn]
        var records: Int
        var matched: Int
        /// Records whose id is not in the features file.
        var unmatched: Int
        var unmatchedExample: String?
        /// An item of the features file without a record.
        var missingExample: String?
    }

    /// Says why a column expected from the metadata file is not there.
    static func missing(_ name: String, join j: MetadataJoin, meta: String, features: String, ids: [String], idColumn: String,
                        nested: String?) -> InputError {
        if let nested {
            return InputError("\(features): column '\(name)' is nested (\(nested)); only flat columns can be used, and \(meta) does not have it either")
        }
        if j.records == 0 {
            return InputError("\(meta): holds no records (an empty file or []), so column '\(name)' cannot come from it")
        }
        if j.matched == 0 {
            return InputError("\(meta): none of its \(j.records) records has an item id of \(features) (key '\(idColumn)', input.id_column): for example '\(j.unmatchedExample ?? "?")' in the metadata, '\(ids[0])' in the features")
        }
        return InputError("column '\(name)' is in neither \(features) nor \(meta) (\(j.matched) of \(ids.count) items matched by id)")
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
