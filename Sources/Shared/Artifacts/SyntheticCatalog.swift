import Foundation
import HNSW

/// A seeded, realistic Stage-1 catalog: features.parquet and item_metadata.json.
public enum SyntheticCatalog {
    static let processes = ["casting", "forging", "machining", "stamping", "welding", "molding", "assembly"]
    static let materials = ["steel", "stainless", "aluminium", "titanium", "brass", "abs", "polycarbonate", "zinc"]
    static let regions = ["EU", "NA", "APAC", "LATAM", "MEA"]
    static let industries = ["automotive", "electronics", "medical", "aerospace", "energy"]

    /// Writes `items` items to `folder` (features.parquet, item_metadata.json), atomically per file.
    public static func write(items: Int, seed: UInt64, folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var g = SyntheticVectors.Generator(seed: seed)
        func uniform() -> Double { Double(g.next() >> 11) * 0x1p-53 }
        func pick(_ n: Int) -> Int { Int(g.next() % UInt64(n)) }
        // Suppliers: a few hundred, Zipf-like popularity.
        let supplierCount = 400
        var ids = ByteArrays(), process = ByteArrays(), material = ByteArrays(), supplier = ByteArrays()
        var region = ByteArrays(), industry = ByteArrays()
        var processValid = [Bool](), supplierValid = [Bool]()
        var lead = [Int32](), leadValid = [Bool](), cost = [Double](), costValid = [Bool]()
        var volume = [Double](), volumeValid = [Bool](), defect = [Double](), defectValid = [Bool]()
        var metadata = "["
        for i in 0..<items {
            let id = String(format: "ITM-%07d", i)
            ids.append(contentsOf: Array(id.utf8))
            let p = pick(processes.count)
            process.append(contentsOf: Array(processes[p].utf8))
            processValid.append(uniform() > 0.03)
            let m = (p + pick(3)) % materials.count
            material.append(contentsOf: Array(materials[m].utf8))
            let s = min(Int(Double(supplierCount) * pow(uniform(), 2.5)), supplierCount - 1)
            supplier.append(contentsOf: Array(String(format: "SUP-%03d", s).utf8))
            supplierValid.append(uniform() > 0.02)
            region.append(contentsOf: Array(regions[s % regions.count].utf8))
            let ind = industries[(p + s) % industries.count]
            industry.append(contentsOf: Array(ind.utf8))
            lead.append(Int32(5 + p * 6 + pick(20)))
            leadValid.append(uniform() > 0.04)
            cost.append((exp(2.5 + Double(m) * 0.3 + 0.8 * g.normal()) * 100).rounded() / 100)
            costValid.append(uniform() > 0.05)
            let vol = exp(6 + 1.8 * g.normal()).rounded()
            volume.append(vol)
            volumeValid.append(uniform() > 0.03)
            defect.append(max(0, min(1, 0.01 + 0.004 * Double(p) + 0.01 * Double(s % 7) / 7 + 0.01 * g.normal())))
            defectValid.append(uniform() > 0.1)
            if i > 0 { metadata += ",\n" }
            metadata += "{\"item_id\": \"\(id)\", \"name\": \"\(materials[m].capitalized) \(processes[p]) part \(i)\", "
            metadata += "\"industry\": \"\(ind)\", \"production_volume\": \(volumeValid.last! ? String(Int64(vol)) : "null")}"
        }
        metadata += "]\n"
        try ParquetWriter.write([
            ParquetWriteColumn(name: "item_id", values: .bytes(ids), logicalType: .string),
            ParquetWriteColumn(name: "process", values: .bytes(process), validity: processValid, logicalType: .string),
            ParquetWriteColumn(name: "material", values: .bytes(material), logicalType: .string),
            ParquetWriteColumn(name: "supplier", values: .bytes(supplier), validity: supplierValid, logicalType: .string),
            ParquetWriteColumn(name: "region", values: .bytes(region), logicalType: .string),
            ParquetWriteColumn(name: "industry", values: .bytes(industry), logicalType: .string),
            ParquetWriteColumn(name: "lead_time_days", values: .int32(lead), validity: leadValid),
            ParquetWriteColumn(name: "unit_cost", values: .double(cost), validity: costValid),
            ParquetWriteColumn(name: "production_volume", values: .double(volume), validity: volumeValid),
            ParquetWriteColumn(name: "defect_rate", values: .double(defect), validity: defectValid),
        ], to: folder + "/features.parquet")
        try FileIO.writeAtomically(metadata.utf8, to: folder + "/item_metadata.json")
    }
}
