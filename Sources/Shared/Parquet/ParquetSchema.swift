/// One leaf column of a Parquet file.
public struct ParquetColumnDescriptor: Sendable, Equatable {
    /// Dotted path of the column ("a" for flat columns, "a.b.c" below groups).
    public var name: String
    public var path: [String]
    public var physicalType: PhysicalType
    /// Byte length of FIXED_LEN_BYTE_ARRAY values.
    public var typeLength: Int
    public var logicalType: LogicalType?
    public var maxDefinitionLevel: Int
    public var maxRepetitionLevel: Int
    /// True when the column sits below a group or repeats: this reader does not decode those.
    public var isNested: Bool
    /// True when values may be missing (OPTIONAL somewhere on the path).
    public var isNullable: Bool { maxDefinitionLevel > 0 }
    /// Index among the leaf columns (and in each row group's column chunk list).
    public var leafIndex: Int
}

/// The flattened schema: its leaf columns in file order.
public struct ParquetSchema: Sendable {
    public var columns: [ParquetColumnDescriptor]

    /// Builds leaves from the depth-first element list, bounding every count by the list itself.
    init(elements: [SchemaElement]) throws {
        guard let root = elements.first else { throw DecodeError("the schema is empty") }
        var leaves: [ParquetColumnDescriptor] = []
        var next = 1
        func walk(count: Int, path: [String], def: Int, rep: Int, depth: Int) throws {
            guard depth < 100 else { throw DecodeError("the schema nests more than 100 levels") }
            for _ in 0..<count {
                guard next < elements.count else { throw DecodeError("the schema lists fewer elements than its groups claim") }
                let e = elements[next]
                next += 1
                let d = def + (e.repetition == .optional || e.repetition == .repeated ? 1 : 0)
                let r = rep + (e.repetition == .repeated ? 1 : 0)
                if let children = e.numChildren, children > 0 {
                    guard Int(children) <= elements.count - next else {
                        throw DecodeError("group '\(e.name)' claims \(children) children, more than the schema holds")
                    }
                    try walk(count: Int(children), path: path + [e.name], def: d, rep: r, depth: depth + 1)
                } else {
                    guard let type = e.type else { throw DecodeError("column '\(e.name)' has no physical type") }
                    var length = 0
                    if type == .fixedLenByteArray {
                        guard let l = e.typeLength, l > 0, l <= 1 << 20 else {
                            throw DecodeError("column '\(e.name)' has an invalid fixed length \(e.typeLength ?? 0)")
                        }
                        length = Int(l)
                    }
                    let fullPath = path + [e.name]
                    leaves.append(ParquetColumnDescriptor(
                        name: fullPath.joined(separator: "."), path: fullPath, physicalType: type, typeLength: length,
                        logicalType: e.logicalType ?? ParquetSchema.fromConverted(e), maxDefinitionLevel: d,
                        maxRepetitionLevel: r, isNested: r > 0 || !path.isEmpty, leafIndex: leaves.count))
                }
            }
        }
        let rootChildren = Int(root.numChildren ?? 0)
        guard rootChildren >= 0, rootChildren < elements.count else {
            throw DecodeError("the root claims \(rootChildren) children but the schema has \(elements.count - 1) elements")
        }
        try walk(count: rootChildren, path: [], def: 0, rep: 0, depth: 0)
        columns = leaves
    }

    /// The logical type implied by a legacy converted_type.
    static func fromConverted(_ e: SchemaElement) -> LogicalType? {
        guard let c = e.convertedType else { return nil }
        switch c {
        case 0: return .string
        case 1, 2: return .map
        case 3: return .list
        case 4: return .enumeration
        case 5: return .decimal(scale: Int(e.scale ?? 0), precision: Int(e.precision ?? 0))
        case 6: return .date
        case 7: return .time(utc: true, unit: .millis)
        case 8: return .time(utc: true, unit: .micros)
        case 9: return .timestamp(utc: true, unit: .millis)
        case 10: return .timestamp(utc: true, unit: .micros)
        case 11: return .integer(bits: 8, signed: false)
        case 12: return .integer(bits: 16, signed: false)
        case 13: return .integer(bits: 32, signed: false)
        case 14: return .integer(bits: 64, signed: false)
        case 15: return .integer(bits: 8, signed: true)
        case 16: return .integer(bits: 16, signed: true)
        case 17: return .integer(bits: 32, signed: true)
        case 18: return .integer(bits: 64, signed: true)
        case 19: return .json
        case 20: return .bson
        case 21: return .interval
        default: return nil
        }
    }
}
