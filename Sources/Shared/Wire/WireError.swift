/// A message that cannot be accepted. The peer that sent it is disconnected; the run goes on.
public enum WireError: Error, Equatable, CustomStringConvertible, Sendable {
    case tooShort(Int)
    case badMagic
    case unsupportedVersion(UInt16)
    case unknownType(UInt16)
    case lengthMismatch(declared: Int, actual: Int)
    case tooLarge(type: String, bytes: Int, cap: Int)
    case checksumMismatch
    case malformed(type: String, reason: String)

    public var description: String {
        switch self {
        case .tooShort(let n): return "a \(n)-byte message is shorter than the 16-byte header"
        case .badMagic: return "the message does not start with the protocol magic (not a trainer peer)"
        case .unsupportedVersion(let v):
            return "protocol version \(v), but this trainer speaks version \(WireMessage.version): run the same trainer release on every node"
        case .unknownType(let t): return "unknown message type \(t)"
        case .lengthMismatch(let d, let a): return "the header declares \(d) payload bytes but \(a) arrived"
        case .tooLarge(let t, let b, let c): return "a \(t) message of \(b) bytes exceeds its cap of \(c) bytes"
        case .checksumMismatch: return "the payload checksum does not match (corrupted in transit)"
        case .malformed(let t, let r): return "malformed \(t) message: \(r)"
        }
    }
}
