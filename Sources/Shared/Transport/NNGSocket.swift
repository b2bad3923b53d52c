import CNNG
import HNSW
import Synchronization

/// TLS settings for a `tls+tcp://` endpoint.
public struct TLSSettings: Sendable, Equatable {
    /// PEM files of the listener's certificate and private key.
    public var certFile: String?
    public var keyFile: String?
    /// PEM file of the certificate authority that signed the peer (dialer side: verifies the server).
    public var caFile: String?
    /// The name the server's certificate must carry (dialer side); defaults to the URL's host.
    public var serverName: String?

    public init(certFile: String? = nil, keyFile: String? = nil, caFile: String? = nil, serverName: String? = nil) {
        self.certFile = certFile
        self.keyFile = keyFile
        self.caFile = caFile
        self.serverName = serverName
    }
}

/// An nng socket (REQ or REP) with the options this project always sets: a receive size cap
/// (nng's default is unlimited) and, on REQ, no automatic resend (nng re-sends after 60 s).
public final class NNGSocket: @unchecked Sendable {
    public enum Kind: Sendable { case request, reply }

    let raw: nng_socket
    private let pipeEvents = Locked<PipeEventBox?>(nil)
    private let closed = Atomic<Bool>(false)

    public init(_ kind: Kind, maxMessageBytes: Int) throws {
        var s = nng_socket()
        switch kind {
        case .request: try NNGError.check(nng_req0_open(&s), "opening a REQ socket")
        case .reply: try NNGError.check(nng_rep0_open(&s), "opening a REP socket")
        }
        raw = s
        try NNGError.check(nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, maxMessageBytes), "setting the receive size cap")
        if kind == .request {
            try NNGError.check(nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, -1), "turning REQ resend off")
        }
    }

    deinit { close() }

    /// Closes the socket; pending operations fail with NNG_ECLOSED.
    public func close() {
        if closed.exchange(true, ordering: .acquiringAndReleasing) { return }
        nng_close(raw)
        pipeEvents.withLock { box in
            if let b = box { Unmanaged.passUnretained(b).release() }
            box = nil
        }
    }

    /// Listens on `url` (tcp://, ipc://, tls+tcp://, inproc://).
    public func listen(_ url: String, tls: TLSSettings? = nil) throws {
        var l = nng_listener()
        try NNGError.check(nng_listener_create(&l, raw, url), "listening on \(url)")
        if url.hasPrefix("tls+") {
            do { try Self.configureServerTLS(l, tls) } catch {
                nng_listener_close(l)
                throw error
            }
        }
        try NNGError.check(nng_listener_start(l, 0), "listening on \(url)")
    }

    private static func configureServerTLS(_ l: nng_listener, _ tls: TLSSettings?) throws {
        guard let certPath = tls?.certFile, let keyPath = tls?.keyFile else {
            throw NNGError(code: Int32(NNG_EINVAL.rawValue), operation: "a tls+tcp:// listener needs cluster.tls.cert and cluster.tls.key")
        }
        func read(_ p: String) throws -> String {
            guard let s = try? String(contentsOfFile: p, encoding: .utf8) else {
                throw NNGError(code: Int32(NNG_ENOENT.rawValue), operation: "reading the TLS file \(p)")
            }
            return s
        }
        let cert = try read(certPath), key = try read(keyPath)
        var cfg: OpaquePointer?
        try NNGError.check(nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER), "allocating a TLS configuration")
        defer { nng_tls_config_free(cfg) }
        try NNGError.check(nng_tls_config_own_cert(cfg, cert, key, nil), "loading the TLS certificate \(certPath) and key \(keyPath)")
        try NNGError.check(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, UnsafeMutableRawPointer(cfg)), "applying the TLS configuration")
    }

    /// Dials `url` in the background: nng keeps reconnecting, so the coordinator may start later or restart.
    public func dial(_ url: String, tls: TLSSettings? = nil) throws {
        var d = nng_dialer()
        try NNGError.check(nng_dialer_create(&d, raw, url), "dialing \(url)")
        if url.hasPrefix("tls+") {
            if let ca = tls?.caFile {
                try NNGError.check(nng_dialer_set_string(d, NNG_OPT_TLS_CA_FILE, ca), "loading the TLS CA file \(ca)")
            }
            if let name = tls?.serverName {
                try NNGError.check(nng_dialer_set_string(d, NNG_OPT_TLS_SERVER_NAME, name), "setting the TLS server name")
            }
        }
        try NNGError.check(nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 100), "setting the reconnect interval")
        try NNGError.check(nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 2000), "setting the reconnect interval")
        try NNGError.check(nng_dialer_start(d, Int32(NNG_FLAG_NONBLOCK)), "dialing \(url)")
    }

    public func setTimeouts(receiveMs: Int32, sendMs: Int32) throws {
        try NNGError.check(nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, receiveMs), "setting the receive timeout")
        try NNGError.check(nng_socket_set_ms(raw, NNG_OPT_SENDTIMEO, sendMs), "setting the send timeout")
    }

    /// Sends `bytes` as one message (blocking, within the send timeout).
    public func send(_ bytes: [UInt8]) throws {
        guard let msg = try OutgoingMessage(copying: bytes).take() else { return }
        let rv = nng_sendmsg(raw, msg, 0)
        if rv != 0 {
            nng_msg_free(msg)
            throw NNGError(code: rv, operation: "sending")
        }
    }

    /// Receives one message (blocking, within the receive timeout).
    public func receive() throws -> [UInt8] {
        try receive { Array($0) }
    }

    /// Receives one message (blocking, within the receive timeout) and hands its body to `read`,
    /// which must not keep it: the message is freed when `read` returns.
    public func receive<T>(_ read: (UnsafeRawBufferPointer) throws -> T) throws -> T {
        var msg: OpaquePointer?
        try NNGError.check(nng_recvmsg(raw, &msg, 0), "receiving")
        guard let m = msg else { throw NNGError(code: Int32(NNG_EINTERNAL.rawValue), operation: "receiving") }
        defer { nng_msg_free(m) }
        let n = nng_msg_len(m)
        return try read(UnsafeRawBufferPointer(start: n == 0 ? nil : nng_msg_body(m), count: n))
    }

    /// Closes one connection (a misbehaving peer); the socket keeps serving the others.
    public func closePipe(_ id: UInt32) {
        var p = nng_pipe()
        p.id = id
        nng_pipe_close(p)
    }

    /// Calls `handler(pipeID)` on nng's thread whenever a connection goes away.
    public func onPipeRemoved(_ handler: @escaping @Sendable (UInt32) -> Void) throws {
        let box = PipeEventBox(handler)
        let arg = Unmanaged.passRetained(box).toOpaque()
        pipeEvents.withLock { $0 = box }
        try NNGError.check(nng_pipe_notify(raw, NNG_PIPE_EV_REM_POST, { pipe, _, arg in
            guard let arg else { return }
            Unmanaged<PipeEventBox>.fromOpaque(arg).takeUnretainedValue().handler(pipe.id)
        }, arg), "registering for connection events")
    }

    /// Opens a context for concurrent request/reply exchanges on this socket.
    public func context() throws -> NNGContext { try NNGContext(socket: self) }
}

final class PipeEventBox: Sendable {
    let handler: @Sendable (UInt32) -> Void
    init(_ handler: @escaping @Sendable (UInt32) -> Void) { self.handler = handler }
}

/// A message to send, allocated by nng at its final size and written in place, so a large job
/// message exists once in the sender (not as a Swift array and an nng copy). Sending hands it to
/// nng; one never sent is freed with it.
public final class OutgoingMessage {
    fileprivate var msg: OpaquePointer?
    /// The message's size in bytes.
    public let count: Int

    /// A `count`-byte message whose body `fill` writes.
    public init(count: Int, fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws {
        self.count = count
        var m: OpaquePointer?
        try NNGError.check(nng_msg_alloc(&m, count), "allocating a \(count)-byte message")
        guard let m else { throw NNGError(code: Int32(NNG_ENOMEM.rawValue), operation: "allocating a message") }
        msg = m
        try fill(UnsafeMutableRawBufferPointer(start: count == 0 ? nil : nng_msg_body(m), count: count))
    }

    /// A message holding a copy of `bytes`.
    public convenience init(copying bytes: [UInt8]) throws {
        try self.init(count: bytes.count) { body in bytes.withUnsafeBytes { body.copyMemory(from: $0) } }
    }

    /// The nng message, now owned by the caller (nng frees it once sent).
    fileprivate func take() -> OpaquePointer? {
        defer { msg = nil }
        return msg
    }

    deinit { if let msg { nng_msg_free(msg) } }
}

extension NNGContext {
    /// Replies with `bytes` (copied into one message).
    public func send(_ bytes: [UInt8], timeoutMs: Int32 = 60_000) async throws {
        try await send(OutgoingMessage(copying: bytes), timeoutMs: timeoutMs)
    }

    /// Replies with `message`, handing it to nng.
    public func send(_ message: OutgoingMessage, timeoutMs: Int32 = 60_000) async throws {
        guard let msg = message.take() else { throw NNGError(code: Int32(NNG_EINVAL.rawValue), operation: "replying with a message already sent") }
        try await send(taking: msg, timeoutMs: timeoutMs)
    }
}

/// Copying a received message out.
enum NNGMessage {
    /// Copies out the body and the pipe it came on, and frees the message.
    static func take(_ m: OpaquePointer) -> (bytes: [UInt8], pipe: UInt32) {
        let n = nng_msg_len(m)
        let bytes = [UInt8](filling: n) { buf in
            UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(start: nng_msg_body(m), count: n))
        }
        let pipe = nng_msg_get_pipe(m).id
        nng_msg_free(m)
        return (bytes, pipe)
    }
}
