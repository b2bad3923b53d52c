import Foundation
import Logging

/// A swift-log handler writing one event per line, `timestamp level message key=value…`, to stderr
/// and appended to `logs/trainer_YYYYMMDD.log` (UTC date).
public struct RunLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    private let file: FileHandle?

    /// Opens (creating) the day's log file in `folder`; without it, logs go to stderr only.
    public init(folder: String?) {
        var handle: FileHandle?
        if let folder {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let f = DateFormatter()
            f.dateFormat = "yyyyMMdd"
            f.timeZone = TimeZone(identifier: "UTC")
            let path = "\(folder)/trainer_\(f.string(from: Date())).log"
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
            handle = FileHandle(forWritingAtPath: path)
            _ = try? handle?.seekToEnd()
        }
        file = handle
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
                    file _: String, function _: String, line _: UInt) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quote("\($0.value)"))" }.joined(separator: " ")
        let stamp = ISO8601DateFormatter().string(from: Date())
        let line = "\(stamp) \(level) \(message)\(fields.isEmpty ? "" : " " + fields)\n"
        let data = Data(line.utf8)
        FileHandle.standardError.write(data)
        file?.write(data)
    }

    static func quote(_ v: String) -> String {
        v.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? "\"" + v.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : v
    }
}
