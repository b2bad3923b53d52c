import ArgumentParser
import Foundation
import Shared

struct ParquetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parquet", abstract: "Looks inside Parquet files.",
        subcommands: [ParquetSchemaCommand.self, ParquetCatCommand.self, ParquetConvertCommand.self, ParquetBenchCommand.self])
}

/// Opens a Parquet file, mapping its errors to input errors (exit 3).
func openParquet(_ path: String) throws -> ParquetReader {
    do { return try ParquetReader(path: path) } catch let e as ParquetError { throw CLIError.input("\(e)") }
}

struct ParquetSchemaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema", abstract: "Columns, types, nullability, row groups, codecs and row count.")

    @Argument(help: "Parquet file.") var file: String

    func run() throws {
        let r = try openParquet(file)
        print("file        \(file)")
        print("rows        \(r.rowCount)")
        print("row groups  \(r.rowGroups.count) (rows: \(r.rowGroups.map { String($0.rows) }.joined(separator: ", ")))")
        if let c = r.createdBy { print("created by  \(c)") }
        print("column\tphysical\tlogical\tnullable\tcodecs")
        for c in r.schema.columns {
            let codecs = Set(r.rowGroups.map { $0.codecs[c.leafIndex].description }).sorted().joined(separator: ",")
            let physical = c.physicalType == .fixedLenByteArray ? "FIXED_LEN_BYTE_ARRAY(\(c.typeLength))" : c.physicalType.description
            let nested = c.isNested ? " (nested: not readable)" : ""
            print("\(c.name)\t\(physical)\t\(c.logicalType?.description ?? "-")\t\(c.isNullable ? "optional" : "required")\t\(codecs)\(nested)")
        }
    }
}

struct ParquetCatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat", abstract: "Prints rows as JSON Lines, one object per row.")

    @Argument(help: "Parquet file.") var file: String
    @Option(help: "Comma-separated columns (default: every flat column).") var columns: String?
    @Option(parsing: .unconditional, help: "Print at most this many rows.") var limit: Int?

    func validate() throws {
        if let limit, limit < 0 { throw ValidationError("--limit must be ≥ 0, got \(limit)") }
    }

    func run() throws {
        let r = try openParquet(file)
        let names = columns?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        var printed = 0
        var out = ""
        let stdout = FileHandle.standardOutput
        do {
            for g in 0..<r.rowGroups.count {
                if let limit, printed >= limit { break }
                let cols = try r.read(columns: names, rowGroups: g..<(g + 1))
                let keys = cols.map { ParquetJSON.quoted($0.descriptor.name) + ": " }
                let rows = cols.first?.count ?? r.rowGroups[g].rows
                for i in 0..<rows {
                    if let limit, printed >= limit { break }
                    out += "{"
                    for (j, c) in cols.enumerated() {
                        if j > 0 { out += ", " }
                        out += keys[j]
                        out += ParquetJSON.cell(c, i)
                    }
                    out += "}\n"
                    printed += 1
                    if out.utf8.count > 1 << 16 {
                        stdout.write(Data(out.utf8))
                        out = ""
                    }
                }
            }
        } catch let e as ParquetError {
            stdout.write(Data(out.utf8))
            throw CLIError.input("\(e)")
        }
        stdout.write(Data(out.utf8))
    }
}

struct ParquetConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Rewrites flat columns of a Parquet file with the trainer's own writer (PLAIN / RLE_DICTIONARY, V1 pages).")

    @Argument(help: "Input Parquet file.") var input: String
    @Argument(help: "Output Parquet file (written atomically).") var output: String
    @Option(help: "Comma-separated columns (default: every flat column).") var columns: String?
    @Option(help: "none or snappy.") var codec: String = "snappy"
    @Option(parsing: .unconditional, help: "Rows per row group.") var rowGroupRows: Int = 131_072
    @Flag(help: "Write byte strings PLAIN instead of dictionary-encoded.") var noDictionary = false

    func run() throws {
        let c: Codec
        switch codec {
        case "none", "uncompressed": c = .uncompressed
        case "snappy": c = .snappy
        default: throw CLIError.usage("--codec must be none or snappy, got \(codec)")
        }
        guard rowGroupRows >= 1 else { throw CLIError.usage("--row-group-rows must be ≥ 1") }
        let r = try openParquet(input)
        let names = columns?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        let cols: [ParquetColumnData]
        do { cols = try r.read(columns: names) } catch let e as ParquetError { throw CLIError.input("\(e)") }
        var out: [ParquetWriteColumn] = []
        for col in cols {
            let d = col.descriptor
            let supported: Bool
            switch (d.physicalType, d.logicalType) {
            case (.boolean, nil), (.int32, nil), (.int64, nil), (.float, nil), (.double, nil), (.byteArray, nil): supported = true
            case (.byteArray, .string?), (.int32, .date?), (.int64, .timestamp(_, .micros)?): supported = true
            case (.int32, .integer(let bits, true)?) where bits <= 32: supported = true
            case (.int64, .integer(64, true)?): supported = true
            default: supported = false
            }
            guard supported else {
                throw CLIError.input("\(input): column '\(d.name)' (\(d.physicalType) \(d.logicalType?.description ?? "")) cannot be written by the trainer's writer; leave it out with --columns")
            }
            var logical = d.logicalType
            if case .integer? = logical { logical = nil }
            out.append(ParquetWriteColumn(name: d.name, values: col.values, validity: col.validity, logicalType: logical))
        }
        do {
            try ParquetWriter.write(out, to: output, codec: c, rowGroupRows: rowGroupRows, dictionary: !noDictionary)
        } catch let e as ParquetError { throw CLIError.runtime("\(e)") }
        print("wrote \(r.rowCount) rows × \(out.count) columns to \(output)")
    }
}

struct ParquetBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Times reading columns of a Parquet file into memory (median of repeats).")

    @Argument(help: "Parquet file.") var file: String
    @Option(help: "Comma-separated columns (default: every flat column).") var columns: String?
    @Option(parsing: .unconditional, help: "Repeats.") var repeats: Int = 5
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        guard repeats >= 1 else { throw CLIError.usage("--repeats must be ≥ 1") }
        let names = columns?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }
        var times: [Double] = []
        var rows = 0
        for _ in 0..<repeats {
            let t0 = now()
            let r = try openParquet(file)
            do {
                let cols = try r.read(columns: names)
                rows = cols.first?.count ?? 0
            } catch let e as ParquetError { throw CLIError.input("\(e)") }
            times.append(now() - t0)
        }
        times.sort()
        let median = times[times.count / 2]
        if json {
            print("{\"rows\": \(rows), \"median_s\": \(median), \"min_s\": \(times[0]), \"peak_rss\": \(peakRSS())}")
        } else {
            print(String(format: "%d rows: median %.3f s, best %.3f s over %d reads; peak RSS %.0f MiB", rows, median, times[0], repeats,
                         Double(peakRSS()) / 1_048_576))
        }
    }
}
