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

    func testProgressMovesTheDeadlineOnlyForTheLiveLease() {
        var b = JobBoard(shards: 2)
        _ = b.lease(to: 1, now: 0, leaseSeconds: 10)
        XCTAssertTrue(b.extend(shard: 0, attempt: 1, pipe: 1, deadline: 25))
        XCTAssertEqual(b.expired(now: 20), [], "a worker that reported progress keeps its job past the first deadline")
        XCTAssertEqual(b.expired(now: 26), [0])
        XCTAssertFalse(b.extend(shard: 0, attempt: 1, pipe: 2, deadline: 99), "another connection cannot extend the lease")
        XCTAssertFalse(b.extend(shard: 0, attempt: 2, pipe: 1, deadline: 99), "another attempt cannot extend the lease")
        XCTAssertFalse(b.extend(shard: 1, attempt: 1, pipe: 1, deadline: 99), "a pending job has no lease to extend")
    }

    func testAJobStaysOpenForALateResultUntilOneIsAccepted() {
        var b = JobBoard(shards: 1)
        _ = b.lease(to: 1, now: 0, leaseSeconds: 1)
        b.fail(shard: 0)
        XCTAssertTrue(b.isOpen(0), "an expired job still wants a result")
        _ = b.lease(to: 2, now: 2, leaseSeconds: 1)
        XCTAssertTrue(b.isOpen(0), "so does one leased again to another worker")
        b.complete(shard: 0)
        XCTAssertFalse(b.isOpen(0))
        XCTAssertFalse(b.isOpen(1), "a job that does not exist is not open")
    }

    func testAWorkerStillProgressingReclaimsItsLapsedJob() {
        var b = JobBoard(shards: 1)
        _ = b.lease(to: 1, now: 0, leaseSeconds: 1)
        b.fail(shard: 0)
        XCTAssertFalse(b.reclaim(shard: 0, attempt: 2, pipe: 1, deadline: 5), "an attempt never handed out cannot reclaim")
        XCTAssertTrue(b.reclaim(shard: 0, attempt: 1, pipe: 1, deadline: 5))
        XCTAssertTrue(b.isCurrent(shard: 0, attempt: 1, pipe: 1))
        XCTAssertNil(b.lease(to: 2, now: 1, leaseSeconds: 1), "a reclaimed job is not handed out again")
        XCTAssertFalse(b.reclaim(shard: 0, attempt: 1, pipe: 3, deadline: 5), "a leased job cannot be reclaimed")
    }

    func testPostponingMovesEveryLeaseAndNothingElse() {
        var b = JobBoard(shards: 3, done: [2])
        _ = b.lease(to: 1, now: 0, leaseSeconds: 10)
        b.postpone(by: 5)
        XCTAssertEqual(b.expired(now: 12), [])
        XCTAssertEqual(b.expired(now: 16), [0])
        XCTAssertEqual(b.slots[1], .pending)
        XCTAssertEqual(b.slots[2], .done)
    }
}
