import ArgumentParser
import HNSW

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Header fields, levels, degrees per layer, deleted count and layer-0 connectivity of an index.")

    @Argument(help: "Index file.") var path: String = "models/hnsw_index.bin"
    @Option(help: "Vector dimension (the file does not record it).") var dim: Int
    @Option(help: "Distance space (does not change the statistics).") var space: Space = .cosine

    func run() throws {
        let h: HNSWFileHeader
        do { h = try HNSWIndex.readHeader(path: path) } catch let e as HNSWError { throw CLIError.input("\(e)") }
        let idx = try loadIndex(path, space: space, dim: dim)
        let s = idx.statistics()
        print("file             \(path)")
        print("max_elements     \(h.maxElements)")
        print("element_count    \(h.elementCount)")
        print("deleted          \(s.deleted)")
        print("dim              \(dim) (stride \(h.sizeDataPerElement) bytes, label offset \(h.labelOffset), data offset \(h.offsetData))")
        print("M / maxM / maxM0 \(h.M) / \(h.maxM) / \(h.maxM0)")
        print("ef_construction  \(h.efConstruction)")
        print("mult             \(h.mult)")
        print("max level        \(h.maxLevel)")
        print("entry point      \(h.entryPoint)")
        print("level histogram  \(s.levelHistogram.map(String.init).joined(separator: " "))")
        print("layer\tnodes\tmin\tmean\tmax degree")
        for l in s.layers {
            print("\(l.layer)\t\(l.nodes)\t\(l.minDegree)\t\(String(format: "%.2f", l.meanDegree))\t\(l.maxDegree)")
        }
        let pct = s.count == 0 ? 100 : 100 * Double(s.reachableFromEntry) / Double(s.count)
        print("layer 0 reachable from the entry point: \(s.reachableFromEntry) of \(s.count) (\(String(format: "%.2f", pct))%)")
    }
}

import Foundation
