import Foundation

/// The fitted cleaning of one numeric column: log1p, imputation, IQR clipping.
public struct CleanedColumn: Codable, Equatable, Sendable {
    enum CodingKeys: String, CodingKey {
        case name, logTransform = "log_transform", fill, lowFence = "low_fence", highFence = "high_fence"
    }

    public var name: String
    public var logTransform: Bool
    public var fill: Double
    public var lowFence: Double?
    public var highFence: Double?

    /// Cleans raw values (NaN = missing); a negative value under log1p is an input error.
    public func apply(_ raw: [Double], ids: [String], source: String) throws -> [Double] {
        var out = raw
        for i in out.indices {
            var x = out[i]
            if logTransform && !x.isNaN {
                guard x >= 0 else {
                    throw InputError("\(source): column '\(name)' is log-transformed but item '\(ids[i])' has the negative value \(x)")
                }
                x = log1p(x)
            }
            if x.isNaN { x = fill }
            if let lo = lowFence, let hi = highFence { x = Swift.min(Swift.max(x, lo), hi) }
            out[i] = x
        }
        return out
    }
}

/// DataCleaner: fits the cleaning of each numeric column (in config order).
public enum DataCleaner {
    public static func fit(name: String, raw: [Double], logTransform: Bool, missing: String, outliers: String, k: Double,
                           ids: [String], source: String) throws -> CleanedColumn {
        var present: [Double] = []
        present.reserveCapacity(raw.count)
        for (i, x) in raw.enumerated() where !x.isNaN {
            if logTransform {
                guard x >= 0 else {
                    throw InputError("\(source): column '\(name)' is log-transformed but item '\(ids[i])' has the negative value \(x)")
                }
                present.append(log1p(x))
            } else {
                present.append(x)
            }
        }
        guard !present.isEmpty else { throw InputError("\(source): column '\(name)' has no values (every row is missing)") }
        present.sort()
        let fill: Double
        switch missing {
        case "mean": fill = present.reduce(0, +) / Double(present.count)
        case "zero": fill = 0
        default: fill = Statistics.median(sorted: present)
        }
        var lo: Double?, hi: Double?
        if outliers == "iqr" {
            let q1 = Statistics.percentile(sorted: present, 25), q3 = Statistics.percentile(sorted: present, 75)
            lo = q1 - k * (q3 - q1)
            hi = q3 + k * (q3 - q1)
        }
        return CleanedColumn(name: name, logTransform: logTransform, fill: fill, lowFence: lo, highFence: hi)
    }
}
