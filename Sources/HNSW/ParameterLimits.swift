/// The one table of ranges for the index's build and search parameters. The configuration, every
/// command's `validate()`, `HNSWIndex.init` and the wire decoder check against it, so a value that
/// passes one check passes them all.
public enum ParameterLimits {
    /// Vector dimension.
    public static let dimension: ClosedRange<Int> = 1...65_536
    /// Links per node on layers ≥ 1 (2·M on layer 0).
    public static let M: ClosedRange<Int> = 2...10_000
    /// Beam width while building.
    public static let efConstruction: ClosedRange<Int> = 1...1_000_000
    /// Beam width while searching.
    public static let efSearch: ClosedRange<Int> = 1...1_000_000
    /// Elements inserted per deterministic batch.
    public static let batchSize: ClosedRange<Int> = 1...65_536

    /// Checks one value; the message names the parameter as `name` (a config key or a flag).
    public static func check(_ value: Int, _ range: ClosedRange<Int>, name: String) throws(HNSWError) {
        guard range.contains(value) else {
            throw .invalidParameter("\(name) must be in \(range.lowerBound)…\(range.upperBound), got \(value)")
        }
    }
}
