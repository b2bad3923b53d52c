import XCTest
@testable import Coordinator

final class JobBoardTests: XCTestCase {
    func testLeasesGoInShardOrderWithAttemptNumbers() {
        var b = JobBoard(shards: 3, done: [1])
        XCTAssertEqual(b.lease(to: 7, now: 0, leaseSeconds: 10)?.shard, 0)
        XCTAssertEqual(b.lease(to: 8, now: 0, leaseSeconds: 10)?.shard, 2)
        XCTAssertNil(b.lease(to: 9, now: 0, leaseSeconds: 10))
        XCTAssertTrue(b.isCurrent(shard: 0, attempt: 1, pipe: 7))
        XCTAssertFalse(b.isCurrent(shard: 0, attempt: 1, pipe: 8), "a result from another connection is stale")
        XCTAssertFalse(b.isCurrent(shard: 5, attempt: 1, pipe: 7), "an unknown shard is refused")
    }

    func testDisconnectAndExpiryHandTheShardOutAgainWithANewAttempt() {
        var b = JobBoard(shards: 2)
        _ = b.lease(to: 1, now: 0, leaseSeconds: 10)
        _ = b.lease(to: 2, now: 0, leaseSeconds: 10)
        XCTAssertEqual(b.leases(of: 1), [0])
        b.fail(shard: 0)
        XCTAssertEqual(b.expired(now: 5), [])
        XCTAssertEqual(b.expired(now: 11), [1])
        b.fail(shard: 1)
        let again = b.lease(to: 3, now: 12, leaseSeconds: 10)
        XCTAssertEqual(again?.shard, 0)
        XCTAssertEqual(again?.attempt, 2)
        XCTAssertFalse(b.isCurrent(shard: 0, attempt: 1, pipe: 1), "the first attempt's result is now stale")
        b.complete(shard: 0)
        XCTAssertFalse(b.isComplete)
        _ = b.lease(to: 3, now: 12, leaseSeconds: 10)
        b.complete(shard: 1)
        XCTAssertTrue(b.isComplete)
    }

    func testAShardThatKeepsFailingStopsTheRun() {
        var b = JobBoard(shards: 1, maxFailures: 3)
        for k in 1...3 {
            _ = b.lease(to: 1, now: 0, leaseSeconds: 1)
            XCTAssertEqual(b.fail(shard: 0), k < 3)
        }
    }
}
