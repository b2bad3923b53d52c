import CCompression
import HNSW

/// One shard build handed to a worker: the build parameters and the shard's rows.
public struct JobSpec: Sendable, Equatable {
    public var shard: UInt32
    public var attempt: UInt32
    public var space: Space
    public var dim: Int
    public var M: Int
    public var efConstruction: Int
    public var seed: UInt64
    public var batchSize: Int
    public var labels: [UInt64]
    /// Row-major, `dim` floats per label.
    public var vectors: [Float]

    public init(shard: UInt32, attempt: UInt32, space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64,
                batchSize: Int, labels: [UInt64], vectors: [Float]) {
        self.shard = shard
        self.attempt = attempt
        self.space = space
        self.dim = dim
        self.M = M
        self.efConstruction = efConstruction
        self.seed = seed
        self.batchSize = batchSize
        self.labels = labels
        self.vectors = vectors
    }
}

/// A worker's answer to a job: the shard graph (HNSWIndex.encodeGraph) and how long it took.
public struct ShardResult: Sendable, Equatable {
    public var shard: UInt32
    public var attempt: UInt32
    public var buildMicros: UInt64
    public var graph: [UInt8]

    public init(shard: UInt32, attempt: UInt32, buildMicros: UInt64, graph: [UInt8]) {
        self.shard = shard
        self.attempt = attempt
        self.buildMicros = buildMicros
        self.graph = graph
    }
}

/// One piece of a worker's result (a shard graph, or a refinement's REFINED message), sent in
/// order: the coordinator writes each piece straight to the work folder, so its receive cap stays
/// small and a result is never held whole in a message. `job` is numbered as in PROGRESS (a
/// refinement has the top bit set); `total` and `checksum` (CRC-32 of the whole result) are the
/// same in every chunk, and the coordinator checks `total` against what that job's result can be
/// before it writes anything.
public struct ResultChunk: Sendable, Equatable {
    public var job: UInt32
    public var attempt: UInt32
    /// The build's (or refinement's) own time, in microseconds.
    public var micros: UInt64
    /// Bytes of the whole result.
    public var total: UInt64
    /// CRC-32 (zlib's) of the whole result.
    public var checksum: UInt32
    /// Where `data` starts in the result.
    public var offset: UInt64
    public var data: [UInt8]

    public init(job: UInt32, attempt: UInt32, micros: UInt64, total: UInt64, checksum: UInt32, offset: UInt64, data: [UInt8]) {
        self.job = job
        self.attempt = attempt
        self.micros = micros
        self.total = total
        self.checksum = checksum
        self.offset = offset
        self.data = data
    }

    /// True when this chunk ends the result.
    public var isLast: Bool { offset + UInt64(data.count) == total }
}

/// The coordinator/worker protocol. Workers send requests (REQ); the coordinator replies (REP).
///
/// Framing, little-endian: magic "RCTW", version u16, type u16, payload length u32, CRC-32 of the
/// payload u32, then the payload. Each type has a size cap, every count is checked against the
/// bytes that remain before anything is allocated, and a payload must be consumed exactly.
public enum WireMessage: Sendable, Equatable {
    /// Worker → coordinator: the first request on a connection.
    case hello(name: String)
    /// Coordinator → worker: a fresh 32-byte nonce to answer.
    case challenge(nonce: [UInt8])
    /// Worker → coordinator: HMAC-SHA256(token, "worker" ‖ nonce) and the worker's own nonce.
    case auth(mac: [UInt8], nonce: [UInt8])
    /// Coordinator → worker: HMAC-SHA256(token, "coordinator" ‖ worker nonce), the worker's id, and
    /// how often a worker holding a job reports its progress.
    case welcome(mac: [UInt8], workerID: UInt32, reportMilliseconds: UInt32)
    /// Coordinator → worker: refused (bad token or protocol); the connection is then closed.
    case reject(reason: String)
    /// Worker → coordinator: ready for work.
    case ready
    case job(JobSpec)
    /// Coordinator → worker: nothing to hand out now; ask again after this many milliseconds.
    case wait(milliseconds: UInt32)
    /// Coordinator → worker: the build is over; exit.
    case stop
    case result(ShardResult)
    /// Worker → coordinator: the job could not be done.
    case failure(shard: UInt32, attempt: UInt32, reason: String)
    /// Coordinator → worker: a phase-2 job (cross-shard refinement of one shard).
    case refine(RefineSpec)
    /// Worker → coordinator: the refined lists and offers of a phase-2 job.
    case refined(RefineResult)
    /// Worker → coordinator, while it works on a job: `done` of `total` elements so far (a
    /// refinement, whose work is not counted, reports 0 of 0). `job` is numbered as in FAILURE.
    case progress(job: UInt32, attempt: UInt32, done: UInt64, total: UInt64)
    /// Coordinator → worker: keep working; report again after this many milliseconds.
    case carryOn(milliseconds: UInt32)
    /// Coordinator → worker: the job is no longer needed (another attempt finished it, or the
    /// build ended); drop it (or the rest of its result) and ask for the next.
    case abandon
    /// Worker → coordinator: one piece of a finished job's result. Results travel only this way
    /// (since version 3): a RESULT or REFINED message on the wire is refused.
    case resultChunk(ResultChunk)
    /// Coordinator → worker: the chunk was written; send the one at offset `next`. The last chunk
    /// is answered like READY instead (JOB, REFINE, WAIT or STOP), or ABANDON.
    case chunkReceived(next: UInt64)

    /// 4: a worker keeps only the shards its last refinement job named (3 kept every shard of the
    /// session), so coordinator and worker must agree on the version.
    public static let version: UInt16 = 4
    static let magic: [UInt8] = Array("RCTW".utf8)
    public static let headerSize = 16
    /// Cap of the small control messages.
    public static let smallCap = 4096
    /// Default cap of a job payload (1 GiB).
    public static let defaultLargeCap = 1 << 30
    /// Most result bytes one RESULT_CHUNK carries (1 MiB; docs/decisions.md has the measurement).
    public static let chunkBytes = 1 << 20
    /// Fixed fields of a RESULT_CHUNK payload before its data.
    static let chunkFieldBytes = 40
    /// The largest message a coordinator receives: a full RESULT_CHUNK, header included.
    public static let coordinatorReceiveCap = headerSize + chunkFieldBytes + chunkBytes
    /// Room for the SP protocol's own header on a received message (a REQ request id, 4 bytes,
    /// and 4 more per device a message crosses): nng's receive cap counts it.
    public static let transportHeaderAllowance = 64
    /// The coordinator socket's receive cap: a full RESULT_CHUNK and its SP header. A peer that
    /// has not authenticated can make the coordinator hold at most this much per connection.
    public static let coordinatorSocketCap = coordinatorReceiveCap + transportHeaderAllowance

    var type: UInt16 {
        switch self {
        case .hello: 1
        case .challenge: 2
        case .auth: 3
        case .welcome: 4
        case .reject: 5
        case .ready: 6
        case .job: 7
        case .wait: 8
        case .stop: 9
        case .result: 10
        case .failure: 11
        case .refine: 12
        case .refined: 13
        case .progress: 14
        case .carryOn: 15
        case .abandon: 16
        case .resultChunk: 17
        case .chunkReceived: 18
        }
    }

    static func typeName(_ t: UInt16) -> String {
        let names = ["?", "HELLO", "CHALLENGE", "AUTH", "WELCOME", "REJECT", "READY", "JOB", "WAIT", "STOP", "RESULT", "FAILURE", "REFINE",
                     "REFINED", "PROGRESS", "CARRY_ON", "ABANDON", "RESULT_CHUNK", "CHUNK_RECEIVED"]
        return names[Int(t) < names.count ? Int(t) : 0]
    }

    /// The name of this message's type, for logs.
    public var name: String { Self.typeName(type) }

    static func cap(_ t: UInt16, large: Int) -> Int {
        if t == 17 { return chunkFieldBytes + chunkBytes }
        return [7, 10, 12, 13].contains(t) ? large : smallCap
    }

    /// The type number of the last message type this version knows.
    static let lastType: UInt16 = 18

    // MARK: encoding

    /// The framed bytes of this message.
    public func encoded() -> [UInt8] {
        let n = encodedCount
        return [UInt8](filling: n) { encode(into: UnsafeMutableRawBufferPointer($0)) }
    }

    /// The size of the framed message. Encoding counts first and then writes into a buffer of
    /// exactly this size: a job message of hundreds of megabytes is written once, in place, with no
    /// growth copies and no second copy for the header.
    public var encodedCount: Int {
        var w = WireWriter.counter()
        payload(&w)
        return Self.headerSize + w.count
    }

    /// Writes the framed message into `buffer`, which holds `encodedCount` bytes.
    public func encode(into buffer: UnsafeMutableRawBufferPointer) {
        let body = UnsafeMutableRawBufferPointer(rebasing: buffer[Self.headerSize...])
        var w = WireWriter(into: body)
        payload(&w)
        Self.frame(type: type, payload: UnsafeRawBufferPointer(body), into: buffer)
    }

    /// Writes the 16-byte header of a payload already in place after it.
    static func frame(type: UInt16, payload: UnsafeRawBufferPointer, into buffer: UnsafeMutableRawBufferPointer) {
        var h = WireWriter(into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<headerSize]))
        magic.withUnsafeBytes { h.raw($0) }
        h.u16(version)
        h.u16(type)
        h.u32(UInt32(payload.count))
        h.u32(crc(payload))
    }

    func payload(_ w: inout WireWriter) {
        switch self {
        case .hello(let name): w.string(name)
        case .challenge(let nonce): w.bytes(nonce)
        case .auth(let mac, let nonce):
            w.bytes(mac)
            w.bytes(nonce)
        case .welcome(let mac, let id, let ms):
            w.bytes(mac)
            w.u32(id)
            w.u32(ms)
        case .reject(let reason): w.string(reason)
        case .ready, .stop, .abandon: break
        case .job(let j):
            w.u32(j.shard)
            w.u32(j.attempt)
            w.buildParameters(space: j.space, dim: j.dim, M: j.M, efConstruction: j.efConstruction, seed: j.seed)
            w.u32(UInt32(j.batchSize))
            w.u32(UInt32(j.labels.count))
            j.labels.withUnsafeBytes { w.raw($0) }
            j.vectors.withUnsafeBytes { w.raw($0) }
        case .wait(let ms), .carryOn(let ms): w.u32(ms)
        case .progress(let job, let attempt, let done, let total):
            w.u32(job)
            w.u32(attempt)
            w.u64(done)
            w.u64(total)
        case .result(let r):
            w.u32(r.shard)
            w.u32(r.attempt)
            w.u64(r.buildMicros)
            w.u32(UInt32(r.graph.count))
            r.graph.withUnsafeBytes { w.raw($0) }
        case .failure(let shard, let attempt, let reason):
            w.u32(shard)
            w.u32(attempt)
            w.string(reason)
        case .refine(let j): w.refineSpec(j)
        case .refined(let r): w.refineResult(r)
        case .resultChunk(let c):
            w.u32(c.job)
            w.u32(c.attempt)
            w.u64(c.micros)
            w.u64(c.total)
            w.u32(c.checksum)
            w.u64(c.offset)
            w.u32(UInt32(c.data.count))
            w.bytes(c.data)
        case .chunkReceived(let next): w.u64(next)
        }
    }

    static func crc(_ b: UnsafeRawBufferPointer) -> UInt32 { checksum(continuing: nil, b) }

    /// CRC-32 (zlib's) of `b`, continuing from `previous` (the checksum of the bytes before it), or
    /// from the start when nil: what a RESULT_CHUNK's `checksum` holds for the whole result.
    public static func checksum(continuing previous: UInt32?, _ b: UnsafeRawBufferPointer) -> UInt32 {
        var c = previous.map { uLong($0) } ?? crc32(0, nil, 0)
        var p = b.baseAddress?.assumingMemoryBound(to: UInt8.self)
        var left = b.count
        while left > 0, let q = p {
            let n = min(left, 1 << 30)
            c = crc32(c, q, uInt(n))
            p = q + n
            left -= n
        }
        return UInt32(truncatingIfNeeded: c)
    }

    // MARK: decoding

    /// Decodes one framed message from an untrusted peer.
    /// - Parameter largeCap: the cap of job and result payloads.
    public static func decode(_ bytes: [UInt8], largeCap: Int = defaultLargeCap) throws -> WireMessage {
        try bytes.withUnsafeBytes { try decode(raw: $0, largeCap: largeCap) }
    }

    /// Decodes one framed message in place (a worker decodes a job straight from the received nng
    /// message, so a job of hundreds of megabytes is not copied out first).
    public static func decode(raw bytes: UnsafeRawBufferPointer, largeCap: Int = defaultLargeCap) throws -> WireMessage {
        guard bytes.count >= headerSize else { throw WireError.tooShort(bytes.count) }
        guard bytes.prefix(4).elementsEqual(magic) else { throw WireError.badMagic }
        var h = WireReader(bytes, from: 4, name: "header")
        let version = try h.u16()
        guard version == Self.version else { throw WireError.unsupportedVersion(version) }
        let type = try h.u16()
        guard (1...lastType).contains(type) else { throw WireError.unknownType(type) }
        let length = Int(try h.u32())
        let checksum = try h.u32()
        let name = typeName(type)
        let actual = bytes.count - headerSize
        guard length == actual else { throw WireError.lengthMismatch(declared: length, actual: actual) }
        let cap = cap(type, large: largeCap)
        guard length <= cap else { throw WireError.tooLarge(type: name, bytes: length, cap: cap) }
        let sum = crc(UnsafeRawBufferPointer(rebasing: bytes[headerSize...]))
        guard sum == checksum else { throw WireError.checksumMismatch }
        var r = WireReader(bytes, from: headerSize, name: name)
        let message: WireMessage
        switch type {
        case 1: message = .hello(name: try r.string(max: 256))
        case 2: message = .challenge(nonce: try r.bytes(32))
        case 3: message = .auth(mac: try r.bytes(32), nonce: try r.bytes(32))
        case 4: message = .welcome(mac: try r.bytes(32), workerID: try r.u32(), reportMilliseconds: try r.u32())
        case 5: message = .reject(reason: try r.string(max: 2048))
        case 6: message = .ready
        case 7: message = .job(try decodeJob(&r))
        case 8: message = .wait(milliseconds: try r.u32())
        case 9: message = .stop
        case 10:
            let shard = try r.u32(), attempt = try r.u32(), micros = try r.u64()
            let n = Int(try r.u32())
            message = .result(ShardResult(shard: shard, attempt: attempt, buildMicros: micros, graph: try r.bytes(n)))
        case 11: message = .failure(shard: try r.u32(), attempt: try r.u32(), reason: try r.string(max: 2048))
        case 12: message = .refine(try r.refineSpec())
        case 13: message = .refined(try r.refineResult())
        case 14:
            let job = try r.u32(), attempt = try r.u32(), done = try r.u64(), total = try r.u64()
            guard done <= total else { throw r.bad("progress \(done) exceeds its total \(total)") }
            message = .progress(job: job, attempt: attempt, done: done, total: total)
        case 15: message = .carryOn(milliseconds: try r.u32())
        case 16: message = .abandon
        case 17: message = .resultChunk(try decodeChunk(&r))
        default: message = .chunkReceived(next: try r.u64())
        }
        try r.finish()
        return message
    }

    private static func decodeChunk(_ r: inout WireReader) throws -> ResultChunk {
        let job = try r.u32(), attempt = try r.u32(), micros = try r.u64(), total = try r.u64(), checksum = try r.u32()
        let offset = try r.u64()
        let n = Int(try r.u32())
        // Every length is checked before the data is copied: at least one byte, at most a chunk,
        // within the declared total, and exactly what the message holds.
        guard n >= 1, n <= chunkBytes else { throw r.bad("a chunk of \(n) bytes is outside 1…\(chunkBytes)") }
        guard offset < total, UInt64(n) <= total - offset else {
            throw r.bad("a chunk of \(n) bytes at offset \(offset) does not fit in the declared total of \(total) bytes")
        }
        guard n == r.remaining else { throw r.bad("the chunk declares \(n) bytes but \(r.remaining) remain") }
        return ResultChunk(job: job, attempt: attempt, micros: micros, total: total, checksum: checksum, offset: offset, data: try r.bytes(n))
    }

    private static func decodeJob(_ r: inout WireReader) throws -> JobSpec {
        let shard = try r.u32(), attempt = try r.u32()
        let (space, dim, M, efc, seed) = try r.buildParameters()
        let batch = Int(try r.u32())
        try r.within(batch, ParameterLimits.batchSize, "batch size")
        let n = Int(try r.u32())
        // Check the whole shard's size before allocating anything for it.
        let (rowBytes, o1) = dim.multipliedReportingOverflow(by: 4)
        let (perItem, o2) = rowBytes.addingReportingOverflow(8)
        let (total, o3) = perItem.multipliedReportingOverflow(by: n)
        guard !o1, !o2, !o3, total == r.remaining else {
            throw r.bad("\(n) items of dimension \(dim) need \(o3 ? "overflowing" : "\(total)") bytes but \(r.remaining) remain")
        }
        let labels: [UInt64] = try r.array(n)
        let vectors: [Float] = try r.array(n * dim)
        return JobSpec(shard: shard, attempt: attempt, space: space, dim: dim, M: M, efConstruction: efc, seed: seed,
                       batchSize: batch, labels: labels, vectors: vectors)
    }
}

struct WireWriter {
    /// The growing output of a writer made with `init()` (tests craft messages with it).
    var out: [UInt8] = []
    /// The fixed buffer of a writer made with `init(into:)`.
    private var place: UnsafeMutableRawBufferPointer?
    private var counting = false
    /// Bytes written (or counted) so far.
    private(set) var count = 0

    init() {}

    /// A writer that only counts: the first pass of encoding a message in place.
    static func counter() -> WireWriter {
        var w = WireWriter()
        w.counting = true
        return w
    }

    /// A writer into `buffer`, which the counting pass sized.
    init(into buffer: UnsafeMutableRawBufferPointer) { place = buffer }

    /// `n` bytes that `fill` writes in place (appended or only counted by the other writers).
    mutating func region(_ n: Int, _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        defer { count += n }
        if counting || n == 0 { return }
        if let place {
            // The same encoding ran to size the buffer, so this holds; a mismatch is a defect here.
            precondition(count + n <= place.count, "wire encoding wrote past the size it counted")
            try fill(UnsafeMutableRawBufferPointer(rebasing: place[count..<(count + n)]))
            return
        }
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: n))
        try out.withUnsafeMutableBytes { try fill(UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
    }

    mutating func raw(_ b: UnsafeRawBufferPointer) {
        region(b.count) { $0.copyMemory(from: b) }
    }
    mutating func u8(_ v: UInt8) { withUnsafeBytes(of: v) { raw($0) } }
    mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { raw($0) } }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { raw($0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { raw($0) } }
    mutating func bytes(_ b: [UInt8]) { b.withUnsafeBytes { raw($0) } }
    /// The build parameters both kinds of job start with.
    mutating func buildParameters(space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64) {
        u8(UInt8(Space.allCases.firstIndex(of: space) ?? 0))
        u32(UInt32(dim))
        u32(UInt32(M))
        u32(UInt32(efConstruction))
        u64(seed)
    }

    mutating func string(_ s: String) {
        let u = Array(s.utf8.prefix(2048))
        u16(UInt16(u.count))
        bytes(u)
    }
}

/// Bounds-checked reads from an untrusted payload, valid while the bytes it reads are.
struct WireReader {
    let data: UnsafeRawBufferPointer
    var pos: Int
    let name: String

    init(_ data: UnsafeRawBufferPointer, from: Int, name: String) {
        self.data = data
        pos = from
        self.name = name
    }

    var remaining: Int { data.count - pos }

    func bad(_ reason: String) -> WireError { .malformed(type: name, reason: reason) }

    /// A field checked against its range in the shared limits tables.
    func within(_ value: Int, _ range: ClosedRange<Int>, _ field: String) throws {
        guard range.contains(value) else { throw bad("\(field) \(value) is outside \(range.lowerBound)…\(range.upperBound)") }
    }

    private mutating func take(_ n: Int) throws -> Range<Int> {
        guard n >= 0, n <= remaining else { throw bad("needs \(n) more bytes at offset \(pos), \(remaining) remain") }
        defer { pos += n }
        return pos..<(pos + n)
    }

    private mutating func int<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let r = try take(MemoryLayout<T>.size)
        return T(littleEndian: data.loadUnaligned(fromByteOffset: r.lowerBound, as: T.self))
    }

    mutating func u8() throws -> UInt8 { try int(UInt8.self) }
    mutating func u16() throws -> UInt16 { try int(UInt16.self) }
    mutating func u32() throws -> UInt32 { try int(UInt32.self) }
    mutating func u64() throws -> UInt64 { try int(UInt64.self) }

    /// The build parameters both kinds of job start with, each checked against its range.
    mutating func buildParameters() throws -> (space: Space, dim: Int, M: Int, efConstruction: Int, seed: UInt64) {
        let s = Int(try u8())
        guard s < Space.allCases.count else { throw bad("space code \(s) is unknown") }
        let dim = Int(try u32()), M = Int(try u32()), efc = Int(try u32())
        let seed = try u64()
        try within(dim, ParameterLimits.dimension, "dimension")
        try within(M, ParameterLimits.M, "M")
        try within(efc, ParameterLimits.efConstruction, "ef_construction")
        return (Space.allCases[s], dim, M, efc, seed)
    }

    mutating func bytes(_ n: Int) throws -> [UInt8] { Array(UnsafeRawBufferPointer(rebasing: data[try take(n)])) }

    mutating func string(max: Int) throws -> String {
        let n = Int(try u16())
        guard n <= max else { throw bad("a string of \(n) bytes exceeds \(max)") }
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: data[try take(n)]), as: UTF8.self) else { throw bad("a string is not valid UTF-8") }
        return s
    }

    /// `count` values (this project runs on little-endian machines only), copied out (the payload need not be aligned).
    mutating func array<T: BitwiseCopyable>(_ count: Int) throws -> [T] {
        let (bytes, o) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard !o else { throw bad("an array of \(count) values overflows") }
        let r = try take(bytes)
        return [T](filling: count) { UnsafeMutableRawBufferPointer($0).copyMemory(from: UnsafeRawBufferPointer(rebasing: data[r])) }
    }

    func finish() throws {
        guard remaining == 0 else { throw bad("\(remaining) unexpected bytes after the last field") }
    }
}

extension OutgoingMessage {
    /// `message` framed and written in place into a new outgoing message.
    public convenience init(_ message: WireMessage) throws {
        try self.init(count: message.encodedCount) { message.encode(into: $0) }
    }
}
