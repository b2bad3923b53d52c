import Foundation
import Logging

/// A swift-log handler writing one event per line, `timestamp level message key=value…`, to stderr
/// and appended to `logs/trainer_YYYYMMDD.log` (UTC date).
public struct RunLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    /// False when the caller prints errors itself: error events then go to the file only.
    public var echoErrors = true
    private let file: FileHandle?

    /// Opens (creating) the day's log file in `folder`.
    /// A folder that cannot be created or written is an error naming it, not a silently missing log.
    public init(folder: String) throws(ArtifactError) {
        do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
            throw ArtifactError(message: "\(folder): export.log_dir cannot be created (\((error as NSError).localizedFailureReason ?? "\(error)"))")
        }
        let f = DateFormatter()
        f.dateFormat = "yyyyMMdd"
        f.timeZone = TimeZone(identifier: "UTC")
        let path = "\(folder)/trainer_\(f.string(from: Date())).log"
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ArtifactError(message: "\(path): export.log_dir: cannot open the log file (\(String(cString: strerror(errno))))")
        }
        file = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// Logs to stderr only.
    public init() { file = nil }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let level = event.level, message = event.message
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.quote("\($0.value)"))" }.joined(separator: " ")
        let stamp = ISO8601DateFormatter().string(from: Date())
        let text = "\(message)"
        let shown = text.contains(where: { $0.isNewline }) ? Self.quote(text) : text
        let line = "\(stamp) \(level) \(shown)\(fields.isEmpty ? "" : " " + fields)\n"
        let data = Data(line.utf8)
        if level < .error || echoErrors { FileHandle.standardError.write(data) }
        file?.write(data)
    }

    /// Quotes a value holding spaces, quotes, '=' or control characters; inside quotes, backslash,
    /// quote and line breaks are escaped, so every event stays on one line.
    static func quote(_ v: String) -> String {
        guard v.unicodeScalars.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F })
        else { return v }
        return ParquetJSON.quoted(v)
    }
}
