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
    /// Live (not deleted) elements reachable on layer 0 from the entry point: the ones a search can return.
    public var liveReachable: Int = 0
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
        // One pass over the elements for every layer's degrees (a pass per layer re-read the level
        // array and the link headers once per layer).
        let layerCount = histogram.count
        var nodes = [Int](repeating: 0, count: layerCount), sums = [Int](repeating: 0, count: layerCount)
        var minD = [Int](repeating: Int.max, count: layerCount), maxD = [Int](repeating: 0, count: layerCount)
        var degrees = [Int](repeating: 0, count: maxM0 + 1)
        for i in 0..<count {
            for layer in 0...Int(levels[i]) {
                let d = linkCount(links(UInt32(i), layer))
                nodes[layer] += 1
                sums[layer] += d
                minD[layer] = min(minD[layer], d)
                maxD[layer] = max(maxD[layer], d)
                if layer == 0 { degrees[min(d, maxM0)] += 1 }
            }
        }
        let layers = (0..<layerCount).map { l in
            LayerDegrees(layer: l, nodes: nodes[l], minDegree: nodes[l] == 0 ? 0 : minD[l], maxDegree: maxD[l],
                         meanDegree: nodes[l] == 0 ? 0 : Double(sums[l]) / Double(nodes[l]))
        }
        var reachable = 0, liveReachable = 0
        if let ep = entryPoint {
            // A bitset (N/8 bytes) stays in cache where a [Bool] of 1M elements would not.
            var seen = [UInt64](repeating: 0, count: (count + 63) / 64)
            var stack: [UInt32] = [ep]
            seen[Int(ep) >> 6] |= 1 << (UInt64(ep) & 63)
            while let x = stack.popLast() {
                reachable += 1
                if !isDeleted(x) { liveReachable += 1 }
                let list = links(x, 0)
                for j in 0..<linkCount(list) {
                    let y = list[1 + j]
                    let bit: UInt64 = 1 << (UInt64(y) & 63)
                    if seen[Int(y) >> 6] & bit == 0 {
                        seen[Int(y) >> 6] |= bit
                        stack.append(y)
                    }
                }
            }
        }
        return GraphStatistics(count: count, deleted: deletedCount, levelHistogram: histogram, layers: layers,
                               reachableFromEntry: reachable, liveReachable: liveReachable, levelZeroDegreeHistogram: degrees)
    }
}
