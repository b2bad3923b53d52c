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
        /// Columns only the projector uses: above its `max_points` only its sampled rows are kept.
        public var projectorOnly: Set<String>

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
            projectorOnly = Set(all).subtracting(featureInputs)
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
        let position: RowIndex
        switch RowIndex.make(ids) {
        case .success(let index): position = index
        case .failure(let d): throw InputError("\(path): item id '\(d.id)' appears more than once in column '\(idColumn)'")
        }
        // A 10M-item catalog exports 100k projector points: projector-only columns (often a unique
        // name per item) keep those rows alone instead of interning ten million strings.
        let projectorRows = ProjectorExporter.sample(count: ids.count, maxPoints: config.export.tensorboard.maxPoints, seed: config.seed)
        var sampled: [Bool]?
        if let projectorRows {
            var mask = [Bool](repeating: false, count: ids.count)
            for r in projectorRows { mask[r] = true }
            sampled = mask
        }
        func keep(_ name: String) -> [Bool]? { needs.projectorOnly.contains(name) ? sampled : nil }
        var columns: [String: CatalogColumn] = [:]
        var sources: [String: String] = [:]
        for col in data.dropFirst() {
            columns[col.descriptor.name] = convert(col, keep: keep(col.descriptor.name))
            sources[col.descriptor.name] = path
        }
        var warnings: [String] = []
        if let meta = config.input.itemMetadata {
            let joined = try loadMetadata(meta, idColumn: idColumn, wanted: needs.all, keep: needs.all.map(keep), position: position, ids: ids)
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
                    if let d = differences(fromParquet, column, rows: keep(name), matched: joined.matchedRows) {
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
        let catalog = Catalog(ids: ids, columns: columns, sources: sources, warnings: warnings, projectorRows: projectorRows)
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
            // An empty id names no item: labels.tsv and the projector would show a blank, and
            // no metadata record could be told apart from a missing key.
            guard !id.isEmpty else { throw InputError("\(path): row \(i) has an empty item id in column '\(c.descriptor.name)'") }
            out.append(id)
        }
        return out
    }

    /// A Parquet column as a catalog column: numbers (missing → NaN, logical types applied) or
    /// categories; with `keep`, text of the other rows is left missing.
    static func convert(_ c: ParquetColumnData, keep: [Bool]? = nil) -> CatalogColumn {
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
            for i in 0..<n where c.isValid(i) && keep?[i] != false { codes[i] = interner.intern(b[i]) }
            let distinct = interner.values
            return .categorical(codes: codes, values: (0..<distinct.count).map { .string(distinct.string($0)) })
        default:
            return .numeric([Double](repeating: .nan, count: n))  // numbers() covers every other kind
        }
    }

    /// Rows where two versions of a column differ (compared as text), or nil when none does.
    /// Only rows where `matched` is true are compared (items without a metadata record have no
    /// value there to differ).
    static func differences(_ a: CatalogColumn, _ b: CatalogColumn, rows keep: [Bool]? = nil, matched: [Bool]? = nil) -> (count: Int, first: Int)? {
        var count = 0, first = -1
        let numbers: ([Double], [Double])? = if case .numeric(let u) = a, case .numeric(let v) = b { (u, v) } else { nil }
        for i in 0..<a.count where keep?[i] != false && matched?[i] != false {
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
    /// `keep[k]`, when set, limits column k to those rows (projector-only columns of a sampled projector).
    static func loadMetadata(_ path: String, idColumn: String, wanted: [String], keep: [[Bool]?], position: RowIndex,
                             ids: [String]) throws -> MetadataJoin {
        var position = position
        let count = ids.count
        var reader: JSONRecordReader
        do { reader = try JSONRecordReader(path: path) } catch let e as JSONInputError { throw InputError("\(e)") }
        // Per wanted column (by position): numbers and interned text codes, each allocated when the
        // column first shows a value of that kind. Text is interned as bytes while records stream
        // in (no String kept per row): at 10M items a per-row String array and a second hashing
        // pass over it were a third of the load phase.
        var numbers = [[Double]](repeating: [], count: wanted.count)
        var codes = [[Int32]](repeating: [], count: wanted.count)
        var interners = [ByteStringInterner](repeating: ByteStringInterner(), count: wanted.count)
        var present = [Bool](repeating: false, count: wanted.count)
        var record = 0
        var matched = [Bool](repeating: false, count: count)
        var matchedCount = 0
        var orphans = Set<ItemKey>()
        var firstOrphan: String?
        let keys = ([idColumn] + wanted).map { Array($0.utf8) }
        func setNumber(_ k: Int, _ row: Int, _ x: Double) {
            if numbers[k].isEmpty { numbers[k] = [Double](repeating: .nan, count: count) }
            numbers[k][row] = x
        }
        var r: [JSONScalar?] = []
        do {
            while try reader.next(keys: keys, into: &r) {
                record += 1
                let id: String
                switch r[0] {
                case .string(let s)?: id = s
                case .bigInteger(let digits)?: id = digits
                case .number(let x)? where x == x.rounded() && abs(x) < 0x1p53: id = String(Int64(x))
                case .number(let x)?:
                    throw InputError("\(path): record \(record) has '\(idColumn)' (input.id_column) \(x), a fraction or a float beyond 2^53 that cannot name an id exactly; write ids as integer digits or strings")
                case nil, .null?:
                    throw InputError("\(path): record \(record) has no '\(idColumn)' (input.id_column)")
                default: throw InputError("\(path): record \(record) has a '\(idColumn)' (input.id_column) that is not a string or an integer")
                }
                guard let row = position.row(of: id) else {
                    guard orphans.insert(ItemKey(id)).inserted else { throw InputError("\(path): item id '\(id)' appears more than once") }
                    if firstOrphan == nil { firstOrphan = id }
                    continue
                }
                guard !matched[row] else { throw InputError("\(path): item id '\(id)' appears more than once") }
                matched[row] = true
                matchedCount += 1
                for k in wanted.indices {
                    guard let v = r[k + 1] else { continue }
                    present[k] = true
                    guard keep[k]?[row] != false else { continue }
                    switch v {
                    case .number(let x): setNumber(k, row, x)
                    case .bigInteger(let digits): setNumber(k, row, Double(digits) ?? .nan)
                    case .string(var s):
                        if codes[k].isEmpty { codes[k] = [Int32](repeating: -1, count: count) }
                        codes[k][row] = s.withUTF8 { interners[k].intern(UnsafeRawBufferPointer($0)) }
                    case .bool(let b): setNumber(k, row, b ? 1 : 0)
                    case .null: break
                    case .nested: throw InputError("\(path): item '\(id)' has a nested value for '\(wanted[k])'; only scalars are supported")
                    }
                }
            }
        } catch let e as JSONInputError {
            throw InputError("\(e)")
        }
        var out: [String: CatalogColumn] = [:]
        for (k, w) in wanted.enumerated() where present[k] {
            guard !codes[k].isEmpty else {
                out[w] = .numeric(numbers[k].isEmpty ? [Double](repeating: .nan, count: count) : numbers[k])
                continue
            }
            // A column with any text is categorical; its numbers become their decimal text. Codes are
            // renumbered in row order of first appearance, as the pipeline's category order expects.
            var interner = interners[k]
            var column = codes[k]
            let hasNumbers = !numbers[k].isEmpty
            var renumbered: [Int32] = []
            var order: [Int32] = []
            for row in 0..<count {
                var c = column[row]
                if c < 0, hasNumbers, !numbers[k][row].isNaN {
                    c = Array(Self.format(numbers[k][row]).utf8).withUnsafeBytes { interner.intern($0) }
                }
                guard c >= 0 else { continue }
                if Int(c) >= renumbered.count { renumbered += [Int32](repeating: -1, count: Int(c) + 1 - renumbered.count) }
                if renumbered[Int(c)] < 0 {
                    renumbered[Int(c)] = Int32(order.count)
                    order.append(c)
                }
                column[row] = renumbered[Int(c)]
            }
            let distinct = interner.values
            out[w] = .categorical(codes: column, values: order.map { .string(distinct.string(Int($0))) })
        }
        let firstMissing = matched.firstIndex(of: false).map { ids[$0] }
        return MetadataJoin(columns: out, records: record, matched: matchedCount, matchedRows: matched, unmatched: orphans.count,
                            unmatchedExample: firstOrphan, missingExample: firstMissing)
    }

    /// What the metadata file gave: its columns and how its ids matched the features' ids.
    struct MetadataJoin {
        var columns: [String: CatalogColumn]
        var records: Int
        var matched: Int
        /// Per item of the features file: does a record of the metadata file have its id?
        var matchedRows: [Bool]
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

/// The row of each item id, by its UTF-8 bytes (as `ItemKey` compares them). Ids in strictly
/// increasing byte order (as exports usually write them) need no table: a record is looked up at the
/// row after the last match, then by binary search. Other ids go into an interner's open-addressing
/// table. At 10M items a hashed lookup costs several cache misses each, which made the load phase
/// grow faster than the catalog (docs/decisions.md).
struct RowIndex {
    private let ids: [String]
    private var table: ByteStringInterner?
    /// The row after the last one found: metadata records usually come in the features' order.
    private var next = 0

    /// The index of `ids`, or the first id that appears twice.
    static func make(_ ids: [String]) -> Result<RowIndex, Duplicate> {
        var index = RowIndex(ids: ids, table: nil)
        if zip(ids, ids.dropFirst()).allSatisfy({ compare($0, $1) < 0 }) { return .success(index) }
        var table = ByteStringInterner()
        for id in ids {
            var id = id
            let before = table.count
            let fresh = id.withUTF8 { Int(table.intern(UnsafeRawBufferPointer($0))) == before }
            if !fresh { return .failure(Duplicate(id: id)) }
        }
        index.table = table
        return .success(index)
    }

    struct Duplicate: Error { var id: String }

    mutating func row(of id: String) -> Int? {
        if next < ids.count, Self.compare(ids[next], id) == 0 {
            next += 1
            return next - 1
        }
        let found: Int?
        if let table {
            var id = id
            found = id.withUTF8 { table.code(of: UnsafeRawBufferPointer($0)).map(Int.init) }
        } else {
            var lo = 0, hi = ids.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if Self.compare(ids[mid], id) < 0 { lo = mid + 1 } else { hi = mid }
            }
            found = lo < ids.count && Self.compare(ids[lo], id) == 0 ? lo : nil
        }
        if let found { next = found + 1 }
        return found
    }

    /// Byte order of two strings' UTF-8.
    static func compare(_ a: String, _ b: String) -> Int {
        let fast = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y -> Int in
                let n = min(x.count, y.count)
                if n > 0, let xa = x.baseAddress, let ya = y.baseAddress {
                    let c = memcmp(xa, ya, n)
                    if c != 0 { return Int(c) }
                }
                return x.count - y.count
            }
        }
        if let fast, let c = fast { return c }
        if a.utf8.elementsEqual(b.utf8) { return 0 }
        return a.utf8.lexicographicallyPrecedes(b.utf8) ? -1 : 1
    }
}
