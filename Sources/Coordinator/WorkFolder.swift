import Foundation
import HNSW
import Shared

/// The coordinator's work folder: the plan fingerprint and every completed shard graph, each
/// written atomically, so that `--resume` after a crash redoes only the shards that were lost.
public struct WorkFolder: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    var planPath: String { path + "/plan.txt" }
    /// Written into every work folder the coordinator creates. Without it a folder is the user's:
    /// the coordinator neither reuses nor removes it.
    var markerPath: String { path + "/" + Self.markerName }
    static let markerName = PathChecks.workFolderMarker
    func shardPath(_ s: Int) -> String { path + "/shard-\(String(format: "%05d", s)).graph" }
    func refinePath(_ s: Int) -> String { path + "/refine-\(String(format: "%05d", s)).msg" }

    /// What a resumed run finds: shard graphs, and the shards with a refinement message (read
    /// with `refinement(shard:largeCap:)` when needed, so none is held decoded).
    public struct Saved: Sendable {
        public var graphs: [Int: [UInt8]] = [:]
        public var refined: Set<Int> = []
        public init() {}
    }

    /// Starts afresh: creates the folder (with its marker), or clears the shard results of an
    /// earlier build from a folder that carries the marker. A folder without the marker that holds
    /// anything is refused, so a mistyped path never loses the user's files.
    public func start(_ plan: ShardPlan) throws {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw CoordinatorError.workFolder(path: path, reason: "it is a file, not a folder; choose a new folder for the work files")
            }
            if fm.fileExists(atPath: markerPath) {
                removeOwnFiles()
            } else {
                let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
                guard entries.isEmpty else {
                    throw CoordinatorError.workFolder(path: path,
                        reason: "it already holds \(entries.count) entries and was not made by the trainer (no \(Self.markerName)); choose a new or empty folder, nothing was changed")
                }
            }
        } else {
            do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
                throw CoordinatorError.workFolder(path: path, reason: "cannot create it: \(error.localizedDescription)")
            }
        }
        try FileIO.writeAtomically(Array("routing-candidates trainer work folder\n".utf8), to: markerPath)
        try FileIO.writeAtomically(Array(plan.fingerprint.utf8), to: planPath)
    }

    /// Where a local-mode coordinator listens: in the work folder, which the run already knows is
    /// writable (a container with a read-only root may have no writable /tmp), unless the path is
    /// too long for a Unix socket (108 bytes), then in the temporary folder.
    func socketPath() -> String {
        let folder = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        let inFolder = folder + "/coordinator-\(getpid()).ipc"
        if inFolder.utf8.count < 100 { return inFolder }
        return "\(NSTemporaryDirectory())rct-coordinator-\(getpid())-\(Handshake.randomToken().prefix(8)).ipc"
    }

    /// True for the files the coordinator writes here.
    static func isOwnFile(_ file: String) -> Bool {
        // An interrupted atomic write leaves NAME.tmp-PID.
        let name = file.range(of: ".tmp-").map { String(file[..<$0.lowerBound]) } ?? file
        return name == "plan.txt" || (name.hasPrefix("coordinator-") && name.hasSuffix(".ipc")) || (name.hasPrefix("shard-") && name.hasSuffix(".graph")) || (name.hasPrefix("refine-") && name.hasSuffix(".msg"))
    }

    private func removeOwnFiles() {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: path)) ?? [] where Self.isOwnFile(name) {
            try? fm.removeItem(atPath: path + "/" + name)
        }
    }

    /// Checks the folder belongs to the same plan and returns the shard results it holds.
    public func resume(_ plan: ShardPlan, largeCap: Int) throws -> Saved {
        guard FileManager.default.fileExists(atPath: markerPath) else {
            throw CoordinatorError.workFolder(path: path, reason: "it was not made by the trainer (no \(Self.markerName)), so there is nothing to resume; run without --resume")
        }
        guard let data = FileManager.default.contents(atPath: planPath) else {
            throw CoordinatorError.workFolder(path: path, reason: "there is no earlier run to resume (no plan.txt); run without --resume")
        }
        guard String(decoding: data, as: UTF8.self) == plan.fingerprint else {
            throw CoordinatorError.workFolder(path: path,
                reason: "it belongs to a different build (other inputs, parameters or shard count); run without --resume to start afresh")
        }
        var found = Saved()
        for s in plan.shards.indices {
            if let bytes = FileManager.default.contents(atPath: shardPath(s)) { found.graphs[s] = [UInt8](bytes) }
            if FileManager.default.fileExists(atPath: refinePath(s)) { found.refined.insert(s) }
        }
        return found
    }

    /// The refinement of shard `s` as stored (the REFINED message that brought it, checksum
    /// included), or nil when there is none; an error when it cannot be read or decoded.
    public func refinement(shard s: Int, largeCap: Int) throws -> RefineOutput? {
        guard FileManager.default.fileExists(atPath: refinePath(s)) else { return nil }
        let bytes: [UInt8]
        do { bytes = try FileIO.readAll(refinePath(s)) } catch {
            throw CoordinatorError.workFolder(path: path, reason: "cannot read back the refinement of shard \(s) (\(error)); run again with --resume")
        }
        guard case .refined(let r)? = try? WireMessage.decode(bytes, largeCap: largeCap), Int(r.shard) == s else {
            throw CoordinatorError.workFolder(path: path, reason: "the saved refinement of shard \(s) is damaged; run again with --resume")
        }
        return r.output
    }

    public func storeRefined(shard: Int, message: [UInt8]) throws {
        try FileIO.writeAtomically(message, to: refinePath(shard))
    }

    public func store(shard: Int, graph: [UInt8]) throws {
        try FileIO.writeAtomically(graph, to: shardPath(shard))
    }

    /// A completed shard's graph as stored (the merge reads them back one at a time).
    public func graph(shard: Int) throws -> [UInt8] {
        do { return try FileIO.readAll(shardPath(shard)) } catch {
            throw CoordinatorError.workFolder(path: path, reason: "cannot read back the result of shard \(shard) (\(error)); run again with --resume")
        }
    }

    /// A completed shard's graph file, opened for the merge to stream.
    public func graphReader(shard: Int) throws -> FileIO.Reader {
        do { return try FileIO.Reader(path: shardPath(shard)) } catch {
            throw CoordinatorError.workFolder(path: path, reason: "cannot read back the result of shard \(shard) (\(error)); run again with --resume")
        }
    }

    public func discard(shard: Int) { try? FileManager.default.removeItem(atPath: shardPath(shard)) }

    /// Removes what the coordinator wrote: its files, the marker, and the folder if that leaves it
    /// empty. Anything else in the folder stays.
    public func remove() {
        let fm = FileManager.default
        guard fm.fileExists(atPath: markerPath) else { return }
        removeOwnFiles()
        try? fm.removeItem(atPath: markerPath)
        if ((try? fm.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty { rmdir(path) }
    }
}
