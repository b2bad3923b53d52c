import CNNG
import HNSW

/// One request/reply context of a socket, driven by an nng aio and bridged to Swift concurrency:
/// the aio callback (on nng's thread) only resumes the waiting continuation.
public final class NNGContext: @unchecked Sendable {
    /// A received request: its bytes and the connection it came on.
    public struct Request: Sendable {
        public var bytes: [UInt8]
        public var pipe: UInt32
    }

    private enum Pending {
        case receive(CheckedContinuation<Request, any Error>)
        case send(CheckedContinuation<Void, any Error>)
    }

    /// Shared with the aio callback. `aio` is set once, before any operation is started.
    private final class State: @unchecked Sendable {
        var aio: OpaquePointer?
        let pending = Locked<Pending?>(nil)
    }

    private let socket: NNGSocket
    private var ctx = nng_ctx()
    private let state = State()
    private var aio: OpaquePointer? { state.aio }

    init(socket: NNGSocket) throws {
        self.socket = socket
        try NNGError.check(nng_ctx_open(&ctx, socket.raw), "opening a context")
        let arg = Unmanaged.passUnretained(state).toOpaque()
        var made: OpaquePointer?
        let rv = nng_aio_alloc(&made, { arg in
            guard let arg else { return }
            NNGContext.complete(Unmanaged<State>.fromOpaque(arg).takeUnretainedValue())
        }, arg)
        if rv != 0 {
            nng_ctx_close(ctx)
            throw NNGError(code: rv, operation: "allocating an aio")
        }
        state.aio = made
    }

    deinit {
        if let aio {
            nng_aio_stop(aio)
            nng_aio_free(aio)
        }
        nng_ctx_close(ctx)
    }

    private static func complete(_ state: State) {
        guard let aio = state.aio else { return }
        let rv = nng_aio_result(aio)
        guard let pending = state.pending.withLock({ p -> Pending? in defer { p = nil }; return p }) else { return }
        switch pending {
        case .receive(let c):
            if rv == 0, let m = nng_aio_get_msg(aio) {
                let (bytes, pipe) = NNGMessage.take(m)
                c.resume(returning: Request(bytes: bytes, pipe: pipe))
            } else {
                c.resume(throwing: NNGError(code: rv == 0 ? Int32(NNG_EINTERNAL.rawValue) : rv, operation: "receiving"))
            }
        case .send(let c):
            if rv == 0 {
                c.resume()
            } else {
                if let m = nng_aio_get_msg(aio) { nng_msg_free(m) }
                c.resume(throwing: NNGError(code: rv, operation: "replying"))
            }
        }
    }

    /// Waits for the next request on this context. `timeoutMs` −1 waits until the socket closes.
    public func receive(timeoutMs: Int32 = -1) async throws -> Request {
        guard let aio else { throw NNGError(code: Int32(NNG_ECLOSED.rawValue), operation: "receiving") }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Request, any Error>) in
                state.pending.withLock { $0 = .receive(c) }
                nng_aio_set_timeout(aio, timeoutMs)
                nng_ctx_recv(ctx, aio)
            }
        } onCancel: { [state] in
            if let aio = state.aio { nng_aio_cancel(aio) }
        }
    }

    /// Replies to the request last received on this context with `msg`, which nng now owns.
    func send(taking msg: OpaquePointer, timeoutMs: Int32) async throws {
        guard let aio else {
            nng_msg_free(msg)
            throw NNGError(code: Int32(NNG_ECLOSED.rawValue), operation: "replying")
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                state.pending.withLock { $0 = .send(c) }
                nng_aio_set_msg(aio, msg)
                nng_aio_set_timeout(aio, timeoutMs)
                nng_ctx_send(ctx, aio)
            }
        } onCancel: { [state] in
            if let aio = state.aio { nng_aio_cancel(aio) }
        }
    }
}
