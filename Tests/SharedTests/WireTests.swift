import XCTest
import HNSW
@testable import Shared

final class WireTests: XCTestCase {
    let job = JobSpec(shard: 3, attempt: 2, space: .l2, dim: 3, M: 8, efConstruction: 50, seed: 42, batchSize: 64,
                      labels: [10, 11], vectors: [1, 2, 3, 4, 5, 6.5])

    var samples: [WireMessage] {
        [.hello(name: "node-1"), .challenge(nonce: Array(repeating: 7, count: 32)),
         .auth(mac: Array(repeating: 1, count: 32), nonce: Array(repeating: 2, count: 32)),
         .welcome(mac: Array(repeating: 3, count: 32), workerID: 9, reportMilliseconds: 2500), .reject(reason: "bad token"), .ready, .job(job),
         .wait(milliseconds: 250), .stop, .progress(job: 0x8000_0002, attempt: 3, done: 640, total: 1000), .carryOn(milliseconds: 500),
         .abandon, .result(ShardResult(shard: 3, attempt: 2, buildMicros: 1234, graph: [1, 2, 3, 4, 5])),
         .failure(shard: 1, attempt: 1, reason: "out of memory"),
         .refine(RefineSpec(shard: 1, attempt: 1, space: .cosine, dim: 2, M: 4, efConstruction: 10, seed: 7, crossK: 4, crossEf: 8,
                            shards: [ShippedShard(shard: 1, members: [5, 9], labels: [50, 90], vectors: [1, 2, 3, 4], graph: [1, 2, 3]),
                                     ShippedShard(shard: 0, members: [2], labels: [20], vectors: [5, 6], graph: []),
                                     ShippedShard(shard: 2, cached: true, members: [7], labels: [], vectors: [], graph: [])],
                            boundary: [(0, [0]), (1, [0, 2])])),
         .refined(RefineResult(shard: 1, attempt: 1, micros: 99, output: RefineOutput(lists: [RefinedList(id: 5, links: [2, 9])],
                                                                                       offers: [UInt64(2) << 32 | 5]))),
         .resultChunk(ResultChunk(job: 0x8000_0001, attempt: 2, micros: 77, total: 10, checksum: 0xDEAD_BEEF, offset: 6, data: [1, 2, 3, 4])),
         .chunkReceived(next: 6)]
    }

    func testEveryMessageRoundTrips() throws {
        for m in samples { XCTAssertEqual(try WireMessage.decode(m.encoded()), m, m.name) }
    }

    func testMessagesAreWrittenInPlaceAtTheSizeTheyCount() throws {
        // Counted, then written into a buffer of that size: the same bytes as appending the fields.
        for m in samples {
            var w = WireWriter()
            m.payload(&w)
            XCTAssertEqual(m.encoded(), frame(type: m.type, w.out), m.name)
            XCTAssertEqual(m.encodedCount, m.encoded().count, m.name)
        }
    }

    func testARefinementWrittenInPlaceHasTheBytesOfItsArrays() throws {
        // The coordinator writes shipped shards' labels, rows and graphs straight into the message.
        guard case .refine(let full)? = samples.first(where: { $0.name == "REFINE" }) else { return XCTFail("no REFINE sample") }
        var bare = full
        for i in bare.shards.indices { bare.shards[i].labels = []; bare.shards[i].vectors = []; bare.shards[i].graph = [] }
        func size(_ i: Int, _ part: ShippedPart) -> Int {
            let s = full.shards[i]
            return switch part { case .labels: s.labels.count * 8; case .vectors: s.vectors.count * 4; case .graph: s.graph.count }
        }
        var parts: [String] = []
        let n = WireMessage.refineCount(bare, size: size)
        let bytes = [UInt8](unsafeUninitializedCapacity: n) { buffer, count in
            WireMessage.encodeRefine(bare, size: size, into: UnsafeMutableRawBufferPointer(buffer)) { i, part, dest in
                parts.append("\(i).\(part)")
                let s = full.shards[i]
                switch part {
                case .labels: s.labels.withUnsafeBytes { dest.copyMemory(from: $0) }
                case .vectors: s.vectors.withUnsafeBytes { dest.copyMemory(from: $0) }
                case .graph: s.graph.withUnsafeBytes { dest.copyMemory(from: $0) }
                }
            }
            count = n
        }
        XCTAssertEqual(bytes, WireMessage.refine(full).encoded())
        XCTAssertEqual(try WireMessage.decode(bytes), .refine(full))
        // Cached shards ship no content; empty parts are not asked for.
        XCTAssertEqual(parts, ["0.labels", "0.vectors", "0.graph", "1.labels", "1.vectors"])
    }

    func testHeaderFieldsAreChecked() throws {
        let good = WireMessage.wait(milliseconds: 5).encoded()
        func error(_ b: [UInt8]) -> WireError? {
            do { _ = try WireMessage.decode(b, largeCap: 1 << 20); return nil } catch { return error as? WireError }
        }
        XCTAssertEqual(error(Array(good.prefix(10))), .tooShort(10))
        var b = good; b[0] = 0x58
        XCTAssertEqual(error(b), .badMagic)
        b = good; b[4] = 9
        XCTAssertEqual(error(b), .unsupportedVersion(9))
        b = good; b[6] = 99
        XCTAssertEqual(error(b), .unknownType(99))
        b = good; b[16] ^= 1
        XCTAssertEqual(error(b), .checksumMismatch)
        XCTAssertEqual(error(good + [0]), .lengthMismatch(declared: 4, actual: 5))
        let big = WireMessage.reject(reason: String(repeating: "x", count: 2048)).encoded()
        XCTAssertNil(error(big))
        var huge = WireMessage.ready.encoded()
        huge += [UInt8](repeating: 0, count: 5000)
        huge[8] = 0x88; huge[9] = 0x13  // declares 5000 bytes
        XCTAssertEqual(error(huge), .tooLarge(type: "READY", bytes: 5000, cap: WireMessage.smallCap))
        XCTAssertEqual(error(WireMessage.job(job).encoded()).map { "\($0)" }, nil)
        XCTAssertEqual(try? WireMessage.decode(WireMessage.job(job).encoded(), largeCap: 10), nil)
    }

    func testJobCountsAreCheckedBeforeAllocating() throws {
        // A job that claims 2^32−1 items of dimension 65536 must be refused from the sizes alone.
        var w = WireWriter()
        w.u32(0); w.u32(1); w.u8(0); w.u32(65_536); w.u32(8); w.u32(50); w.u64(1); w.u32(64); w.u32(UInt32.max)
        let framed = frame(type: 7, w.out)
        XCTAssertThrowsError(try WireMessage.decode(framed)) { XCTAssertTrue("\($0)".contains("need"), "\($0)") }
    }

    func testTheProtocolVersionIsFour() throws {
        // A worker keeps only its last refinement's shards since version 4 (results travel as
        // RESULT_CHUNKs since 3): an older peer is told to upgrade.
        XCTAssertEqual(WireMessage.version, 4)
        var old = WireMessage.ready.encoded()
        old[4] = 3
        XCTAssertThrowsError(try WireMessage.decode(old)) {
            XCTAssertEqual($0 as? WireError, .unsupportedVersion(3))
            XCTAssertTrue("\($0)".contains("run the same trainer release on every node"))
        }
    }

    /// A chunk's lengths are checked against each other and the message before its data is copied.
    func testChunkLengthsAreCheckedBeforeCopying() throws {
        func chunk(total: UInt64, offset: UInt64, count: UInt32, present: Int) -> [UInt8] {
            var w = WireWriter()
            w.u32(1); w.u32(1); w.u64(5); w.u64(total); w.u32(0); w.u64(offset); w.u32(count)
            w.bytes([UInt8](repeating: 9, count: present))
            return frame(type: 17, w.out)
        }
        func reason(_ b: [UInt8]) -> String {
            do { _ = try WireMessage.decode(b); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(reason(chunk(total: 100, offset: 96, count: 4, present: 4)), "accepted")
        XCTAssertTrue(reason(chunk(total: 100, offset: 97, count: 4, present: 4)).contains("does not fit in the declared total of 100 bytes"))
        XCTAssertTrue(reason(chunk(total: UInt64.max, offset: UInt64.max - 1, count: 4, present: 4)).contains("does not fit"))
        XCTAssertTrue(reason(chunk(total: 100, offset: 0, count: 0, present: 0)).contains("a chunk of 0 bytes is outside 1…1048576"))
        XCTAssertTrue(reason(chunk(total: 1 << 40, offset: 0, count: UInt32.max, present: 8)).contains("a chunk of 4294967295 bytes is outside"))
        XCTAssertTrue(reason(chunk(total: 100, offset: 0, count: 50, present: 8)).contains("the chunk declares 50 bytes but 8 remain"))
        XCTAssertTrue(reason(chunk(total: 100, offset: 0, count: 8, present: 9)).contains("declares 8 bytes but 9 remain"))
        // A full chunk fits the coordinator's receive cap exactly; one byte more is over the type's cap.
        let full = WireMessage.resultChunk(ResultChunk(job: 0, attempt: 1, micros: 0, total: 1 << 30, checksum: 0, offset: 0,
                                                       data: [UInt8](repeating: 1, count: WireMessage.chunkBytes))).encoded()
        XCTAssertEqual(full.count, WireMessage.coordinatorReceiveCap)
        XCTAssertNoThrow(try WireMessage.decode(full, largeCap: WireMessage.coordinatorReceiveCap))
        var over = Array(full[16...]) + [1]
        over.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(WireMessage.chunkBytes + 1).littleEndian, toByteOffset: 36, as: UInt32.self) }
        XCTAssertEqual(try? WireMessage.decode(frame(type: 17, over)), nil)
        XCTAssertThrowsError(try WireMessage.decode(frame(type: 17, over))) {
            XCTAssertEqual($0 as? WireError, .tooLarge(type: "RESULT_CHUNK", bytes: WireMessage.chunkBytes + 41, cap: WireMessage.chunkBytes + 40))
        }
    }

    /// The incremental checksum of the pieces equals the checksum of the whole (what the coordinator
    /// compares a chunked result against).
    func testChecksumContinuesAcrossChunks() throws {
        let blob = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 31 + 7) }
        let whole = blob.withUnsafeBytes { WireMessage.checksum(continuing: nil, $0) }
        var c: UInt32?
        for start in stride(from: 0, to: blob.count, by: 777) {
            c = blob[start..<min(start + 777, blob.count)].withUnsafeBytes { WireMessage.checksum(continuing: c, $0) }
        }
        XCTAssertEqual(c, whole)
        XCTAssertEqual(whole, blob.withUnsafeBytes { WireMessage.crc($0) })
    }

    func frame(type: UInt16, _ payload: [UInt8]) -> [UInt8] {
        var h = WireWriter()
        h.u16(WireMessage.version); h.u16(type); h.u32(UInt32(payload.count))
        h.u32(payload.withUnsafeBytes { WireMessage.crc($0) })
        return Array("RCTW".utf8) + h.out + payload
    }

    /// Random and mutated messages, with valid checksums so the payload decoders are reached: each is
    /// an error or a message that encodes back to the same bytes.
    func testFuzzedMessagesNeverCrash() throws {
        var rng = SplitMix64(seed: 0xC0FFEE)
        func next() -> UInt64 { rng.next() }
        let seeds = samples.map { $0.encoded() }
        var accepted = 0, refused = 0
        for i in 0..<20_000 {
            var payload: [UInt8]
            var type: UInt16
            if i % 4 == 0 {
                type = UInt16(next() % 20)
                payload = (0..<Int(next() % 96)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                let s = seeds[Int(next() % UInt64(seeds.count))]
                type = UInt16(s[6]) | UInt16(s[7]) << 8
                payload = Array(s[16...])
                for _ in 0..<(1 + Int(next() % 4)) where !payload.isEmpty {
                    payload[Int(next() % UInt64(payload.count))] = UInt8(truncatingIfNeeded: next())
                }
                if next() % 4 == 0 { payload = Array(payload.prefix(Int(next() % UInt64(payload.count + 1)))) }
                if next() % 8 == 0 { payload += [UInt8(truncatingIfNeeded: next())] }
            }
            var bytes = frame(type: type, payload)
            if i % 10 == 9 { bytes[Int(next() % 16)] = UInt8(truncatingIfNeeded: next()) }  // damage the header too
            do {
                let m = try WireMessage.decode(bytes, largeCap: 1 << 20)
                XCTAssertEqual(m.encoded(), bytes)
                accepted += 1
            } catch is WireError {
                refused += 1
            }
        }
        XCTAssertEqual(accepted + refused, 20_000)
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(accepted, 100)
    }

    func testHandshakeProofs() throws {
        let token = Array("0123456789abcdef-token".utf8)
        let nonce = Handshake.nonce()
        XCTAssertEqual(nonce.count, 32)
        XCTAssertNotEqual(nonce, Handshake.nonce())
        let proof = Handshake.proof(token: token, role: "worker", nonce: nonce)
        XCTAssertTrue(Handshake.verify(proof, token: token, role: "worker", nonce: nonce))
        XCTAssertFalse(Handshake.verify(proof, token: token, role: "coordinator", nonce: nonce))
        XCTAssertFalse(Handshake.verify(proof, token: Array("0123456789abcdef-other".utf8), role: "worker", nonce: nonce))
        XCTAssertFalse(Handshake.verify(proof, token: token, role: "worker", nonce: Handshake.nonce()))
    }
}
