// Every wire message decoder, the handshake's proofs, and the shard graph a worker sends back.
// The first byte picks the mode:
//   0  the bytes as they arrive (framing: magic, version, type, length, checksum, caps);
//   1  byte 1 is the type and the rest the payload, framed here with the current version, the right
//      length and CRC-32, so the fuzzer reaches every payload decoder; a decoded message must
//      re-encode to itself, a decoded AUTH or WELCOME proof must not verify unless it is the real
//      one, and a RESULT_CHUNK's data must lie within its declared total and the chunk cap;
//   2  a shard graph (HNSWIndex.assemble) for n items labelled 0..<n, n from byte 1, dim 2, M 4.
// Decoding errors must be WireError; assembling errors HNSWError.
#if canImport(Glibc)
import Glibc
#endif
import HNSW
import Shared

let token = Array("fuzz-token-0123456789abcdef".utf8)
let challenge = [UInt8](repeating: 7, count: 32)

func decodeChecked(_ bytes: [UInt8]) {
    do {
        let m = try WireMessage.decode(bytes, largeCap: 1 << 22)
        let again = m.encoded()
        if again != bytes { abortWith("\(m.name) does not re-encode to the bytes it was decoded from") }
        switch m {
        case .auth(let mac, _):
            let real = Handshake.proof(token: token, role: "worker", nonce: challenge)
            if Handshake.verify(mac, token: token, role: "worker", nonce: challenge) != (mac == real) {
                abortWith("AUTH proof verification disagrees with the real proof")
            }
        case .welcome(let mac, _, _):
            let real = Handshake.proof(token: token, role: "coordinator", nonce: challenge)
            if Handshake.verify(mac, token: token, role: "coordinator", nonce: challenge) != (mac == real) {
                abortWith("WELCOME proof verification disagrees with the real proof")
            }
        case .result(let r):
            assembleChecked(count: 16, graph: r.graph)
        case .resultChunk(let c):
            let end = c.offset.addingReportingOverflow(UInt64(c.data.count))
            if c.data.isEmpty || c.data.count > WireMessage.chunkBytes || end.overflow || end.partialValue > c.total {
                abortWith("a RESULT_CHUNK of \(c.data.count) bytes at \(c.offset) of \(c.total) was accepted")
            }
        default: break
        }
    } catch is WireError {
    } catch {
        abortWith("unexpected error type \(type(of: error)): \(error)")
    }
}

func assembleChecked(count n: Int, graph: [UInt8]) {
    let rows = [Float]((0..<(2 * n)).map { Float($0 % 7) - Float($0 % 3) * 0.5 })
    do {
        let index = try rows.withUnsafeBufferPointer { r in
            try graph.withUnsafeBytes { g in
                try HNSWIndex.assemble(space: .l2, dim: 2, M: 4, efConstruction: 16, seed: 100, rows: r,
                                       labels: (0..<UInt64(n)).map { $0 }, graph: g)
            }
        }
        if n > 0 { _ = try index.search([0.5, 0.5], k: 3, ef: 8) }
        if index.encodeGraph() != graph { abortWith("an assembled graph does not re-encode to its bytes") }
    } catch is HNSWError {
    } catch {
        abortWith("unexpected error type \(type(of: error)): \(error)")
    }
}

/// CRC-32 (IEEE, zlib's), computed here so the harness does not share the decoder's code.
func crc32IEEE(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        c ^= UInt32(b)
        for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
    }
    return ~c
}

func frame(type: UInt16, payload: ArraySlice<UInt8>) -> [UInt8] {
    var out = Array("RCTW".utf8)
    func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    put(WireMessage.version)
    put(type)
    put(UInt32(payload.count))
    put(crc32IEEE(payload))
    out += payload
    return out
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = [UInt8](UnsafeBufferPointer(start: data, count: size))
    guard let mode = input.first else { return 0 }
    switch mode % 3 {
    case 0: decodeChecked(Array(input.dropFirst()))
    case 1:
        guard input.count >= 2 else { return 0 }
        // Types 0…19: every type this version knows (1…18) and one on each side.
        decodeChecked(frame(type: UInt16(input[1] % 20), payload: input[2...]))
    default:
        guard input.count >= 2 else { return 0 }
        assembleChecked(count: Int(input[1] % 64), graph: Array(input[2...]))
    }
    return 0
}

/// With TRAINER_FUZZ_WRITE_SEEDS=dir, writes one seed per message kind (real encodings) and exits.
@_cdecl("LLVMFuzzerInitialize")
public func fuzzWireInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    guard let dirC = getenv("TRAINER_FUZZ_WRITE_SEEDS") else { return 0 }
    let dir = String(cString: dirC)
    var seeds: [(String, [UInt8])] = []
    func message(_ name: String, _ m: WireMessage) {
        let e = m.encoded()
        seeds.append(("raw-" + name, [0] + e))
        seeds.append(("framed-" + name, [1, UInt8(e[6])] + e[16...]))
    }
    message("hello", .hello(name: "worker-1"))
    message("challenge", .challenge(nonce: challenge))
    message("auth", .auth(mac: Handshake.proof(token: token, role: "worker", nonce: challenge), nonce: challenge))
    message("welcome", .welcome(mac: Handshake.proof(token: token, role: "coordinator", nonce: challenge), workerID: 3,
                                reportMilliseconds: 2500))
    message("reject", .reject(reason: "bad token"))
    message("ready", .ready)
    message("wait", .wait(milliseconds: 250))
    message("stop", .stop)
    message("progress", .progress(job: 0x8000_0001, attempt: 2, done: 640, total: 1000))
    message("carry-on", .carryOn(milliseconds: 500))
    message("abandon", .abandon)
    message("failure", .failure(shard: 1, attempt: 2, reason: "out of memory"))
    message("result-chunk", .resultChunk(ResultChunk(job: 0x8000_0001, attempt: 2, micros: 99, total: 300, checksum: 0x1234_5678, offset: 256,
                                                     data: [UInt8](repeating: 5, count: 44))))
    message("chunk-received", .chunkReceived(next: 1 << 20))
    let labels: [UInt64] = (0..<16).map { $0 }
    let rows = [Float]((0..<32).map { Float($0 % 7) - Float($0 % 3) * 0.5 })
    message("job", .job(JobSpec(shard: 0, attempt: 1, space: .l2, dim: 2, M: 4, efConstruction: 16, seed: 100, batchSize: 8,
                               labels: labels, vectors: rows)))
    do {
        let index = try HNSWIndex(space: .l2, dim: 2, M: 4, efConstruction: 16, capacity: 64, seed: 100)
        try rows.withUnsafeBufferPointer { try index.add(rows: $0, labels: labels) }
        let graph = index.encodeGraph()
        message("result", .result(ShardResult(shard: 0, attempt: 1, buildMicros: 1234, graph: graph)))
        seeds.append(("graph-16", [2, 16] + graph))
        let other = ShippedShard(shard: 1, members: Array(0..<16), labels: labels, vectors: rows, graph: graph)
        let cached = ShippedShard(shard: 2, cached: true, members: [3, 4, 5], labels: [], vectors: [], graph: [])
        message("refine", .refine(RefineSpec(shard: 1, attempt: 0, space: .cosine, dim: 2, M: 4, efConstruction: 16, seed: 100,
                                             crossK: 4, crossEf: 8, shards: [other, cached], boundary: [(0, [1]), (5, [1, 2])])))
        let big = try HNSWIndex(space: .l2, dim: 2, M: 4, efConstruction: 16, capacity: 64, seed: 100)
        let bigRows = [Float]((0..<128).map { Float(($0 * 37) % 11) })
        try bigRows.withUnsafeBufferPointer { try big.add(rows: $0, labels: (0..<64).map { $0 }) }
        seeds.append(("graph-64", [2, 64] + big.encodeGraph()))
    } catch {
        abortWith("building the seed graphs failed: \(error)")
    }
    message("refined", .refined(RefineResult(shard: 1, attempt: 0, micros: 99,
                                              output: RefineOutput(lists: [RefinedList(id: 3, links: [1, 2, 9])], offers: [1 << 32 | 5]))))
    for (name, bytes) in seeds {
        let fd = open("\(dir)/\(name)", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { abortWith("cannot write \(dir)/\(name)") }
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
    exit(0)
}
