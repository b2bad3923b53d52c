import ArgumentParser
import Foundation
import HNSW
import Shared

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Prints a trained model's summary and rebuilds its report.html, both from training_metadata.json.")

    @Argument(help: "The output folder of a run (export.output_dir).") var folder: String = "models"
    @Option(help: "Where to write the page (default: FOLDER/report.html).") var out: String?
    @Flag(help: "Print the summary only; leave the page as it is.") var noPage = false

    func run() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            throw CLIError.input("\(folder): no such folder; give the output folder of a run (export.output_dir)")
        }
        guard isDirectory.boolValue else { throw CLIError.input("\(folder): not a folder; give the output folder of a run (export.output_dir)") }
        let path = folder + "/training_metadata.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError.input("\(path): no training metadata; \(folder) holds no trained model (run trainer train first)")
        }
        let meta: TrainingMetadata
        do { meta = try JSONDecoder().decode(TrainingMetadata.self, from: data) } catch {
            // Valid JSON whose number does not fit its field (12.5 where a count belongs) comes back
            // without a key path; say what is wrong rather than "not valid JSON".
            if case .dataCorrupted(let c)? = error as? DecodingError, c.codingPath.isEmpty,
               (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) != nil {
                throw CLIError.input("\(path): not valid training metadata (a value does not fit its field: \(c.debugDescription))")
            }
            throw CLIError.input("\(path): not valid training metadata (\(Self.reason(error)))")
        }
        if let problem = meta.firstProblem() { throw CLIError.input("\(path): not valid training metadata (\(problem))") }
        for line in RunReport.summary(meta) { print(line) }
        guard !noPage else { return }
        let target = out ?? folder + "/" + TrainingRun.reportName
        do { try FileIO.writeAtomically(RunReport.html(meta).utf8, to: target) } catch {
            throw CLIError.runtime("\(target): cannot write the report (\(error))")
        }
        print("report: \(target)")
    }

    /// A decoding error in one phrase: what is wrong and where.
    static func reason(_ error: any Error) -> String {
        // quality.recall[0].ef: list positions attach to their key, as one writes them.
        func at(_ path: [any CodingKey]) -> String {
            guard !path.isEmpty else { return "the top level" }
            return path.reduce(into: "") { s, key in
                if let i = key.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + key.stringValue }
            }
        }
        // JSON's words for what was expected, not Swift's type names.
        func kind(_ type: Any.Type) -> String {
            switch type {
            case is any BinaryInteger.Type: return "an integer"
            case is any BinaryFloatingPoint.Type: return "a number"
            case is String.Type: return "a string"
            case is Bool.Type: return "true or false"
            default:
                return "\(type)".hasPrefix("Array") ? "a list" : "an object"
            }
        }
        switch error as? DecodingError {
        case .dataCorrupted(let c)?:
            return c.codingPath.isEmpty ? "not valid JSON" : "bad value at \(at(c.codingPath)): \(c.debugDescription)"
        case .keyNotFound(let key, let c)?: return "missing key \(at(c.codingPath + [key]))"
        case .typeMismatch(let type, let c)?: return "\(at(c.codingPath)) is not \(kind(type))"
        case .valueNotFound(let type, let c)?: return "\(at(c.codingPath)) is null, expected \(kind(type))"
        default: return "\(error)"
        }
    }
}
