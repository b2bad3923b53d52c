import Foundation
import Yams

/// A configuration problem: exit code 2, with the file and the key path that is wrong.
public struct ConfigError: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    public var key: String
    public var message: String

    public var description: String { key.isEmpty ? "\(path): \(message)" : "\(path): \(key): \(message)" }
}

/// Reads one YAML mapping with typed accessors, remembering which keys were read so that unknown
/// keys can be reported by their full dotted path.
struct ConfigMapping {
    let file: String
    let prefix: String
    private let pairs: [(String, Node)]
    private(set) var used = Set<String>()

    init(file: String, prefix: String, node: Node?) throws {
        self.file = file
        self.prefix = prefix
        guard let node else {
            pairs = []
            return
        }
        guard let mapping = node.mapping else {
            throw ConfigError(path: file, key: prefix, message: "expected a mapping of keys")
        }
        var out: [(String, Node)] = []
        for (k, v) in mapping {
            guard let key = k.string else { throw ConfigError(path: file, key: prefix, message: "a key is not a string") }
            // YAML forbids duplicate keys; a silent "first one wins" would hide the user's edit.
            if out.contains(where: { $0.0 == key }) {
                let full = prefix.isEmpty ? key : "\(prefix).\(key)"
                throw ConfigError(path: file, key: full, message: "appears more than once (line \(k.mark?.line ?? 0)); keep one")
            }
            out.append((key, v))
        }
        pairs = out
    }

    func full(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    func fail(_ key: String, _ message: String) -> ConfigError { ConfigError(path: file, key: full(key), message: message) }

    mutating func node(_ key: String) -> Node? {
        used.insert(key)
        guard let v = pairs.first(where: { $0.0 == key })?.1 else { return nil }
        if case .scalar(let s) = v, s.string == "~" || s.string == "null" || s.string.isEmpty, s.style == .plain { return nil }
        return v
    }

    func has(_ key: String) -> Bool { pairs.contains { $0.0 == key } }

    /// The keys of this mapping as written.
    var keys: [String] { pairs.map(\.0) }

    /// A value as the user wrote it, quoted when it was a quoted string.
    func shown(_ v: Node) -> String {
        guard case .scalar(let s) = v else { return "a collection" }
        return s.style == .plain ? "'\(s.string)'" : "the quoted string \"\(s.string)\""
    }

    mutating func string(_ key: String, default d: String? = nil) throws -> String {
        guard let v = node(key) else {
            if let d { return d }
            throw fail(key, "is required")
        }
        guard case .scalar(let s) = v else { throw fail(key, "expected a string") }
        return s.string
    }

    mutating func optionalString(_ key: String) throws -> String? {
        guard let v = node(key) else { return nil }
        guard case .scalar(let s) = v else { throw fail(key, "expected a string") }
        return s.string
    }

    mutating func int(_ key: String, default d: Int, min: Int? = nil) throws -> Int {
        guard let v = node(key) else { return d }
        guard case .scalar(let s) = v, s.style == .plain, let i = Int(s.string) else {
            throw fail(key, "expected an integer, got \(shown(v))")
        }
        if let min, i < min { throw fail(key, "must be ≥ \(min), got \(i)") }
        return i
    }

    /// `auto` or a shard count.
    mutating func shardCount(_ key: String, default d: ShardCount) throws -> ShardCount {
        guard let v = node(key) else { return d }
        guard case .scalar(let s) = v, let count = ShardCount(s.string), s.style == .plain || count == .automatic else {
            throw fail(key, "expected auto or a shard count in \(ShardLimits.count.lowerBound)…\(ShardLimits.count.upperBound), got \(shown(v))")
        }
        return count
    }

    /// An integer within a range of the shared limits tables.
    mutating func int(_ key: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        let i = try int(key, default: d)
        guard range.contains(i) else { throw fail(key, "must be in \(range.lowerBound)…\(range.upperBound), got \(i)") }
        return i
    }

    /// A folder or file path: not empty, not the filesystem root (the trainer would write its
    /// artifacts or remove its work files there).
    mutating func path(_ key: String, default d: String?) throws -> String {
        // `key:` with nothing after it is YAML's null: for a folder with a default that is almost
        // always a value left out by mistake, not a request for the default.
        if has(key), node(key) == nil { throw fail(key, "is empty; name a folder or remove the key to use the default") }
        let p = try string(key, default: d)
        let trimmed = p.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { throw fail(key, "is empty; name a folder") }
        if trimmed.allSatisfy({ $0 == "/" }) { throw fail(key, "is the filesystem root '/'; name a folder of its own") }
        return p
    }

    mutating func optionalPath(_ key: String) throws -> String? {
        guard node(key) != nil else { return nil }
        return try path(key, default: "")
    }

    mutating func double(_ key: String, default d: Double, min: Double? = nil, max: Double? = nil,
                         above: Double? = nil, meaning: String = "") throws -> Double {
        guard let v = node(key) else { return d }
        guard case .scalar(let s) = v, s.style == .plain, let x = Double(s.string), x.isFinite else {
            throw fail(key, "expected a number, got \(shown(v))")
        }
        // A bounded key states its whole range, whichever side the value is off.
        if let min, let max, !(min...max).contains(x) {
            throw fail(key, "must be in \(Self.number(min))…\(Self.number(max))\(meaning), got \(Self.number(x))")
        }
        if let min, x < min { throw fail(key, "must be ≥ \(Self.number(min)), got \(Self.number(x))") }
        if let max, x > max { throw fail(key, "must be ≤ \(Self.number(max)), got \(Self.number(x))") }
        if let above, x <= above { throw fail(key, "must be > \(Self.number(above)), got \(Self.number(x))") }
        return x
    }

    /// A number as a user writes it: 0 and 1.5, not 0.0 and 1.5000.
    static func number(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
    }

    mutating func bool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = node(key) else { return d }
        guard case .scalar(let s) = v, s.style == .plain else { throw fail(key, "expected true or false, got \(shown(v))") }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw fail(key, "expected true or false, got '\(v.string ?? "a collection")'")
        }
    }

    mutating func choice(_ key: String, _ options: [String], default d: String) throws -> String {
        let s = try string(key, default: d)
        guard options.contains(s) else { throw fail(key, "must be one of \(options.joined(separator: ", ")), got '\(s)'") }
        return s
    }

    mutating func strings(_ key: String) throws -> [String] {
        guard let v = node(key) else { return [] }
        guard let seq = v.sequence else { throw fail(key, "expected a list of column names") }
        var out: [String] = []
        for item in seq {
            guard case .scalar(let s) = item else { throw fail(key, "expected a list of column names") }
            if out.contains(s.string) { throw fail(key, "lists '\(s.string)' twice") }
            out.append(s.string)
        }
        return out
    }

    /// A list of integers within `range`, each listed once.
    mutating func ints(_ key: String, default d: [Int], in range: ClosedRange<Int>) throws -> [Int] {
        guard let v = node(key) else { return d }
        guard let seq = v.sequence else { throw fail(key, "expected a list of integers, got \(shown(v))") }
        var out: [Int] = []
        for item in seq {
            guard case .scalar(let s) = item, s.style == .plain, let i = Int(s.string) else {
                throw fail(key, "expected a list of integers, got \(shown(item))")
            }
            guard range.contains(i) else { throw fail(key, "values must be in \(range.lowerBound)…\(range.upperBound), got \(i)") }
            if out.contains(i) { throw fail(key, "lists \(i) twice") }
            out.append(i)
        }
        return out
    }

    mutating func numberMap(_ key: String) throws -> [String: Double] {
        guard let v = node(key) else { return [:] }
        guard let m = v.mapping else { throw fail(key, "expected a mapping of names to numbers") }
        var out: [String: Double] = [:]
        for (k, val) in m {
            guard let name = k.string, let x = val.string.flatMap({ Double($0) }), x.isFinite, x >= 0 else {
                throw fail(key, "expected non-negative numbers, got '\(k.string ?? "?")': '\(val.string ?? "?")'")
            }
            out[name] = x
        }
        return out
    }

    mutating func child(_ key: String) throws -> ConfigMapping {
        try ConfigMapping(file: file, prefix: full(key), node: node(key))
    }

    /// Fails on any key that was never read.
    func rejectUnknown() throws {
        for (k, _) in pairs where !used.contains(k) {
            let known = used.sorted().joined(separator: ", ")
            throw fail(k, "unknown key (known here: \(known))")
        }
    }
}
