import Foundation

/// An input data problem (exit code 3): names the file, column or item, and the value.
public struct InputError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A category value: strings sort by UTF-8 bytes, integers numerically (scikit-learn's order).
public enum CategoryValue: Hashable, Codable, Sendable, Comparable, CustomStringConvertible {
    case string(String)
    case integer(Int64)

    public static func < (a: CategoryValue, b: CategoryValue) -> Bool {
        switch (a, b) {
        case (.integer(let x), .integer(let y)): return x < y
        case (.string(let x), .string(let y)): return Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
        case (.integer, .string): return true
        case (.string, .integer): return false
        }
    }

    public var description: String {
        switch self {
        case .string(let s): return s
        case .integer(let i): return String(i)
        }
    }

    /// A plain JSON string or number.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .integer(let i): try c.encode(i)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int64.self) { self = .integer(i) } else { self = .string(try c.decode(String.self)) }
    }
}

/// One column of the joined catalog, one entry per item.
public enum CatalogColumn: Sendable {
    /// Numbers; NaN marks a missing value.
    case numeric([Double])
    /// Codes into `values` (−1 = missing).
    case categorical(codes: [Int32], values: [CategoryValue])

    public var count: Int {
        switch self {
        case .numeric(let v): return v.count
        case .categorical(let c, _): return c.count
        }
    }

    /// Row `i` as text (numbers in their shortest decimal form), nil when missing.
    public func text(_ i: Int) -> String? {
        switch self {
        case .numeric(let v): return v[i].isNaN ? nil : CatalogLoader.format(v[i])
        case .categorical(let c, let values): return c[i] < 0 ? nil : values[Int(c[i])].description
        }
    }
}

/// An item id (or category) compared by its UTF-8 bytes. Swift's `String` equality is canonical
/// equivalence, which would make 'é' and 'e\u{301}' one id; the catalog, like pandas, keeps them apart.
///
/// Both hash and equality work on the contiguous UTF-8 storage in one call each: byte by byte they
/// were the largest cost of loading 3M items (a fifth of the load phase).
public struct ItemKey: Hashable, Sendable {
    public let value: String
    public init(_ value: String) { self.value = value }

    public static func == (a: ItemKey, b: ItemKey) -> Bool {
        let fast = a.value.utf8.withContiguousStorageIfAvailable { x in
            b.value.utf8.withContiguousStorageIfAvailable { y in
                guard x.count == y.count, let xa = x.baseAddress, let ya = y.baseAddress else { return x.count == y.count }
                return memcmp(xa, ya, x.count) == 0
            }
        }
        if let fast, let equal = fast { return equal }
        return a.value.utf8.elementsEqual(b.value.utf8)
    }

    public func hash(into h: inout Hasher) {
        // Both paths feed the same bytes, so equal keys hash alike whatever their storage.
        let done: Void? = value.utf8.withContiguousStorageIfAvailable { h.combine(bytes: UnsafeRawBufferPointer($0)) }
        if done == nil { Array(value.utf8).withUnsafeBytes { h.combine(bytes: $0) } }
    }
}

/// The joined catalog: item ids in input order and the columns the pipeline needs.
public struct Catalog: Sendable {
    public var ids: [String]
    public var columns: [String: CatalogColumn]
    /// Where each column came from, for error messages.
    public var sources: [String: String]
    /// Things the user should know that do not stop the run (logged as warnings).
    public var warnings: [String]
    /// The rows the projector exports when the catalog exceeds its `max_points` (nil: every row).
    /// Columns used only by the projector hold values for these rows alone.
    public var projectorRows: [Int]?

    public init(ids: [String], columns: [String: CatalogColumn], sources: [String: String], warnings: [String] = [],
                projectorRows: [Int]? = nil) {
        self.ids = ids
        self.columns = columns
        self.sources = sources
        self.warnings = warnings
        self.projectorRows = projectorRows
    }

    public var count: Int { ids.count }

    public func numeric(_ name: String) throws -> [Double] {
        switch columns[name] {
        case .numeric(let v)?: return v
        case .categorical?: throw InputError("\(sources[name] ?? "input"): column '\(name)' must be numeric but holds text")
        case nil: throw InputError("column '\(name)' is missing from the inputs")
        }
    }

    public func categorical(_ name: String) throws -> (codes: [Int32], values: [CategoryValue]) {
        switch columns[name] {
        case .categorical(let c, let v)?: return (c, v)
        case .numeric(let v)?:
            // Whole numbers are categories too (sorted numerically, as scikit-learn does).
            var values: [Int64] = []
            var index: [Int64: Int32] = [:]
            var codes = [Int32](repeating: -1, count: v.count)
            for (i, x) in v.enumerated() where !x.isNaN {
                guard x == x.rounded(), abs(x) < 9e15 else {
                    throw InputError("\(sources[name] ?? "input"): column '\(name)' is used as a category but holds the non-integer \(x) (item \(ids[i]))")
                }
                let k = Int64(x)
                if let c = index[k] { codes[i] = c } else {
                    index[k] = Int32(values.count)
                    codes[i] = Int32(values.count)
                    values.append(k)
                }
            }
            return (codes, values.map { .integer($0) })
        case nil: throw InputError("column '\(name)' is missing from the inputs")
        }
    }
}
