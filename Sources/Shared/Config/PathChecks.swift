import Foundation

/// Checks, before any work starts, that the folders a run writes can be created and written, so a
/// misconfigured path fails in a second naming its key rather than after the whole build.
public enum PathChecks {
    /// The file the coordinator writes into every work folder it creates; a folder without it is the user's.
    public static let workFolderMarker = ".trainer-work-folder"

    /// `path` is, or can be made, a writable folder. `key` names the setting in errors.
    public static func writableFolder(_ path: String, key: String, config: String) throws(ConfigError) {
        func fail(_ m: String) -> ConfigError { ConfigError(path: config, key: key, message: m) }
        let fm = FileManager.default
        let absolute = path.hasPrefix("/") ? path : fm.currentDirectoryPath + "/" + path
        var parts = absolute.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var missing: [String] = []
        // Walk up to the deepest part that exists; every existing part must be a folder.
        while true {
            let here = "/" + parts.joined(separator: "/")
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: here, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw fail(missing.isEmpty ? "'\(path)' is a file, not a folder"
                                               : "'\(path)' cannot be created: '\(here)' is a file, not a folder")
                }
                guard access(here, W_OK | X_OK) == 0 else {
                    throw fail(missing.isEmpty ? "the folder '\(path)' is not writable"
                                               : "'\(path)' cannot be created: '\(here)' is not writable")
                }
                // access() says yes to root everywhere, and knows nothing of read-only or virtual file
                // systems (/proc): make and remove a probe folder of our own.
                let probe = here + "/.trainer-probe-\(getpid())"
                guard mkdir(probe, 0o700) == 0 else {
                    let reason = String(cString: strerror(errno))
                    throw fail(missing.isEmpty ? "the folder '\(path)' is not writable (\(reason))"
                                               : "'\(path)' cannot be created in '\(here)' (\(reason))")
                }
                rmdir(probe)
                return
            }
            guard let last = parts.popLast() else { return }
            missing.append(last)
        }
    }

    /// A cluster work folder: a writable folder that is new, empty, or one the trainer made (it
    /// holds the marker file); anything else would have the user's files mixed with or removed as
    /// work files.
    public static func workFolder(_ path: String, key: String, config: String) throws(ConfigError) {
        let marker = workFolderMarker
        try writableFolder(path, key: key, config: config)
        let fm = FileManager.default
        guard fm.fileExists(atPath: path), !fm.fileExists(atPath: path + "/" + marker) else { return }
        let entries = (try? fm.contentsOfDirectory(atPath: path)) ?? []
        if !entries.isEmpty {
            throw ConfigError(path: config, key: key, message: "'\(path)' holds \(entries.count) entries and was not made by the trainer (no \(marker)); name a new or empty folder")
        }
    }

    /// `path` names an existing regular file (an input).
    public static func readableFile(_ path: String, key: String, config: String) throws(ConfigError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ConfigError(path: config, key: key, message: "'\(path)' does not exist")
        }
        guard !isDirectory.boolValue else { throw ConfigError(path: config, key: key, message: "'\(path)' is a folder, not a file") }
        guard access(path, R_OK) == 0 else { throw ConfigError(path: config, key: key, message: "'\(path)' is not readable") }
    }
}

extension TrainerConfig {
    /// Everything about the file system a run can check before it starts: the input files exist,
    /// the output, log and work folders can be written, and an incremental run has what it reads.
    /// `path` is the configuration file, named in errors.
    public func checkPaths(path: String, incremental: Bool, cluster: Bool) throws {
        for (key, file) in [("input.features", input.features), ("input.item_metadata", input.itemMetadata)] {
            guard let file else { continue }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) else {
                throw InputError("\(file): cannot open (\(key) in \(path)): no such file")
            }
            if isDirectory.boolValue { throw InputError("\(file): cannot open (\(key) in \(path)): it is a folder, not a file") }
        }
        try PathChecks.writableFolder(export.outputDir, key: "export.output_dir", config: path)
        try PathChecks.writableFolder(export.logDir, key: "export.log_dir", config: path)
        if cluster {
            try PathChecks.workFolder(self.cluster.workDir ?? export.outputDir + "/cluster-work",
                                      key: self.cluster.workDir == nil ? "export.output_dir (its cluster-work folder)" : "cluster.work_dir",
                                      config: path)
        }
        if cluster, let t = self.cluster.tokenFile { try PathChecks.readableFile(t, key: "cluster.token_file", config: path) }
        if incremental && !export.numpy {
            throw ConfigError(path: path, key: "export.numpy", message: "is false, but an incremental run reads the saved vectors.npy; set it to true and run a full training")
        }
    }
}
