/// Item weights: the harmonic mean of an item weight (v / mean v) and a domain weight.
public struct WeightingState: Codable, Equatable, Sendable {
    enum CodingKeys: String, CodingKey {
        case itemWeightColumn = "item_weight_column", itemWeightMean = "item_weight_mean", domainColumn = "domain_column",
             domainWeights = "domain_weights", defaultDomainWeight = "default_domain_weight"
    }

    public var itemWeightColumn: String?
    /// Mean of the item weight column over the items that have it (nil when no column is configured).
    public var itemWeightMean: Double?
    public var domainColumn: String?
    public var domainWeights: [String: Double]
    public var defaultDomainWeight: Double

    public static func fit(_ c: Catalog, config w: TrainerConfig.Weighting) throws -> WeightingState {
        var mean: Double?
        if let col = w.itemWeightColumn {
            let v = try c.numeric(col)
            var sum = 0.0, n = 0.0
            for (i, x) in v.enumerated() where !x.isNaN {
                guard x >= 0 else {
                    throw InputError("\(c.sources[col] ?? "input"): item weight column '\(col)' has the negative value \(x) for item '\(c.ids[i])'")
                }
                sum += x
                n += 1
            }
            mean = n > 0 ? sum / n : nil
        }
        return WeightingState(itemWeightColumn: w.itemWeightColumn, itemWeightMean: mean, domainColumn: w.domainColumn,
                              domainWeights: w.domainWeights, defaultDomainWeight: w.defaultDomainWeight)
    }

    /// The combined weight of every item: w = 2ab / (a + b), 0 when a + b = 0.
    public func weights(_ c: Catalog) throws -> [Double] {
        var a = [Double](repeating: 1, count: c.count)
        if let col = itemWeightColumn, let mean = itemWeightMean, mean > 0 {
            let v = try c.numeric(col)
            for i in v.indices where !v[i].isNaN {
                guard v[i] >= 0 else {
                    throw InputError("\(c.sources[col] ?? "input"): item weight column '\(col)' has the negative value \(v[i]) for item '\(c.ids[i])'")
                }
                a[i] = v[i] / mean
            }
        }
        var b = [Double](repeating: defaultDomainWeight, count: c.count)
        if let col = domainColumn {
            let (codes, values) = try c.categorical(col)
            let mapped = values.map { domainWeights[$0.description] ?? defaultDomainWeight }
            for (i, code) in codes.enumerated() where code >= 0 { b[i] = mapped[Int(code)] }
        }
        return (0..<c.count).map { a[$0] + b[$0] == 0 ? 0 : 2 * a[$0] * b[$0] / (a[$0] + b[$0]) }
    }
}
