/// Degree statistics of one layer.
public struct LayerDegrees: Equatable, Sendable {
    public var layer: Int
    public var nodes: Int
    public var minDegree: Int
    public var maxDegree: Int
    public var meanDegree: Double
}

/// What `trainer inspect` reports about a graph.
public struct GraphStatistics: Equatable, Sendable {
    public var count: Int
    public var deleted: Int
    /// Elements per level (index = level).
    public var levelHistogram: [Int]
    public var layers: [LayerDegrees]
    /// Elements reachable on layer 0 from the entry point (deleted ones included).
    public var reachableFromEntry: Int
    /// Elements per layer-0 degree (index = degree, 0…maxM0).
    public var levelZeroDegreeHistogram: [Int]
}

extension HNSWIndex {
    /// Level histogram, degree statistics per layer and layer-0 reachability from the entry point.
    /// Elements per level (index = level); cheap, no graph walk.
    public var levelHistogram: [Int] {
        var histogram = [Int](repeating: 0, count: max(maxLevel + 1, 0))
        for i in 0..<count { histogram[Int(levels[i])] += 1 }
        return histogram
    }

    public func statistics() -> GraphStatistics {
        let histogram = levelHistogram
        var layers: [LayerDegrees] = []
        var degrees = [Int](repeating: 0, count: maxM0 + 1)
        for i in 0..<count {
            degrees[min(Int(links(UInt32(i), 0)[0] & 0xFFFF), maxM0)] += 1
        }
        for layer in 0..<histogram.count {
            var nodes = 0, minD = Int.max, maxD = 0, sum = 0
            for i in 0..<count where Int(levels[i]) >= layer {
                let d = Int(links(UInt32(i), layer)[0] & 0xFFFF)
                nodes += 1
                minD = min(minD, d)
                maxD = max(maxD, d)
                sum += d
            }
            layers.append(LayerDegrees(layer: layer, nodes: nodes, minDegree: nodes == 0 ? 0 : minD, maxDegree: maxD,
                                       meanDegree: nodes == 0 ? 0 : Double(sum) / Double(nodes)))
        }
        var reachable = 0
        if let ep = entryPoint {
            var seen = [Bool](repeating: false, count: count)
            var stack: [UInt32] = [ep]
            seen[Int(ep)] = true
            while let x = stack.popLast() {
                reachable += 1
                let list = links(x, 0)
                for j in 0..<Int(list[0] & 0xFFFF) where !seen[Int(list[1 + j])] {
                    seen[Int(list[1 + j])] = true
                    stack.append(list[1 + j])
                }
            }
        }
        return GraphStatistics(count: count, deleted: deletedCount, levelHistogram: histogram, layers: layers,
                               reachableFromEntry: reachable, levelZeroDegreeHistogram: degrees)
    }
}
