import Crypto
import Foundation

/// The shared-token challenge–response. The worker proves it holds the token before it gets
/// anything; the coordinator proves it too, so a worker never builds for an impostor.
public enum Handshake {
    /// Shortest token accepted, in bytes.
    public static let minimumTokenBytes = 16

    /// A fresh 32-byte nonce from the system's secure generator.
    public static func nonce() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// HMAC-SHA256(token, role ‖ nonce).
    public static func proof(token: [UInt8], role: String, nonce: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(role.utf8) + nonce, using: SymmetricKey(data: token)))
    }

    /// Constant-time check of a peer's proof.
    public static func verify(_ mac: [UInt8], token: [UInt8], role: String, nonce: [UInt8]) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Array(role.utf8) + nonce, using: SymmetricKey(data: token))
    }

    /// The token held by the environment variable `name`.
    public static func token(fromEnvironment name: String) throws -> [UInt8] {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw HandshakeError.missingToken(variable: name)
        }
        let bytes = Array(value.utf8)
        guard bytes.count >= minimumTokenBytes else { throw HandshakeError.shortToken(variable: name, bytes: bytes.count) }
        return bytes
    }

    /// The token held in the file at `path` (a mounted secret); a trailing newline is ignored.
    public static func token(fromFile path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else { throw HandshakeError.unreadableTokenFile(path: path) }
        var bytes = [UInt8](data)
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        guard bytes.count >= minimumTokenBytes else { throw HandshakeError.shortToken(variable: path, bytes: bytes.count) }
        return bytes
    }

    /// The token from `file` when one is named, otherwise from the environment variable `variable`.
    public static func token(file: String?, variable: String) throws -> [UInt8] {
        if let file { return try token(fromFile: file) }
        return try token(fromEnvironment: variable)
    }

    /// A random token for local mode, where the coordinator hands it to its own children.
    public static func randomToken() -> String { nonce().map { String(format: "%02x", $0) }.joined() }
}

public enum HandshakeError: Error, CustomStringConvertible, Sendable, Equatable {
    case missingToken(variable: String)
    case shortToken(variable: String, bytes: Int)
    case unreadableTokenFile(path: String)

    public var description: String {
        switch self {
        case .missingToken(let v): return "the cluster token is missing: set the environment variable \(v) (cluster.token_env) on the coordinator and every worker"
        case .shortToken(let v, let n): return "the cluster token in \(v) is \(n) bytes; use at least \(Handshake.minimumTokenBytes) (e.g. `openssl rand -hex 32`)"
        case .unreadableTokenFile(let p): return "cannot read the cluster token file \(p) (cluster.token_file / --token-file)"
        }
    }
}
