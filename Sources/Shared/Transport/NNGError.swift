import CNNG

/// A failed nng call: the operation and nng's own reason.
public struct NNGError: Error, CustomStringConvertible, Sendable, Equatable {
    public let code: Int32
    public let operation: String

    public var description: String { "\(operation): \(String(cString: nng_strerror(code)))" }

    public var isTimeout: Bool { code == Int32(NNG_ETIMEDOUT.rawValue) }
    public var isClosed: Bool { code == Int32(NNG_ECLOSED.rawValue) }
    /// The peer went away (connection reset or the pipe closed under a pending request).
    public var isConnectionLoss: Bool {
        code == Int32(NNG_ECONNRESET.rawValue) || code == Int32(NNG_ECONNSHUT.rawValue) || code == Int32(NNG_ECONNABORTED.rawValue)
            || code == Int32(NNG_ECONNREFUSED.rawValue)
    }

    static func check(_ rv: Int32, _ operation: @autoclosure () -> String) throws {
        if rv != 0 { throw NNGError(code: rv, operation: operation()) }
    }
}
