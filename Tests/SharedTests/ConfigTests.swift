import Foundation
import HNSW
import XCTest
@testable import Shared

final class ConfigTests: XCTestCase {
    let minimal = """
    input: {features: f.parquet}
    features: {numeric: [a, b], target: b}
    """

    func error(_ yaml: String) -> String {
        do {
            _ = try TrainerConfig.parse(yaml: yaml, path: "c.yml")
            return "no error"
        } catch { return "\(error)" }
    }

    func testQualityKeysDefaultsErrorsAndRoundTrip() throws {
        let c = try TrainerConfig.parse(yaml: minimal, path: "c.yml")
        XCTAssertEqual(c.quality, TrainerConfig.Quality(sampleSize: 1000, ef: [10, 20, 50, 100, 200], maxDrift: nil))
        let set = try TrainerConfig.parse(yaml: minimal + "\nquality: {sample_size: 50, ef: [5, 40], max_drift: 0.25}\n", path: "c.yml")
        XCTAssertEqual(set.quality, TrainerConfig.Quality(sampleSize: 50, ef: [5, 40], maxDrift: 0.25))
        let again = try TrainerConfig.parse(yaml: set.effective.yaml(), path: "again.yml")
        XCTAssertEqual(again, set)
        XCTAssertEqual(again.effective.yaml(), set.effective.yaml())
        XCTAssertTrue(error(minimal + "\nquality: {max_drift: 1.5}\n").contains("c.yml: quality.max_drift: must be in 0…1"))
        XCTAssertTrue(error(minimal + "\nquality: {max_drift: -0.1}\n").contains("quality.max_drift: must be in 0…1 (1 − mean top-10 overlap), got -0.1"))
        XCTAssertTrue(error(minimal + "\nquality: {ef: []}\n").contains("quality.ef: lists no ef values"))
        XCTAssertTrue(error(minimal + "\nquality: {ef: [10, x]}\n").contains("quality.ef: expected a list of integers, got 'x'"))
        XCTAssertTrue(error(minimal + "\nquality: {ef: 10}\n").contains("quality.ef: expected a list of integers"))
        XCTAssertTrue(error(minimal + "\nquality: {sample_size: 0}\n").contains("quality.sample_size: must be in 1…"))
        XCTAssertTrue(error(minimal + "\nquality: {max_drfit: 0.1}\n").contains("quality.max_drfit: unknown key"))
    }

    func testDuplicateKeysAreErrors() {
        XCTAssertTrue(error(minimal + "\nindex: {M: 8}\nseed: 1\nseed: 2\n").contains("c.yml: seed: appears more than once"))
        XCTAssertTrue(error(minimal + "\nindex:\n  M: 8\n  M: 9\n").contains("index.M: appears more than once"))
    }

    func testEmptyAndRootPathsAreErrors() {
        XCTAssertTrue(error(minimal + "\nexport: {output_dir: \"\"}\n").contains("export.output_dir: is empty"))
        XCTAssertTrue(error(minimal + "\nexport: {log_dir: /}\n").contains("export.log_dir: is the filesystem root"))
        XCTAssertTrue(error(minimal + "\ncluster: {work_dir: \"\"}\n").contains("cluster.work_dir: is empty"))
    }

    func testLimitsComeFromTheSharedTables() {
        XCTAssertTrue(error(minimal + "\nindex: {M: \(ParameterLimits.M.upperBound + 1)}\n").contains("index.M: must be in 2…10000"))
        XCTAssertTrue(error(minimal + "\ncluster: {refine: {k: 5000}}\n").contains("cluster.refine.k: must be in 1…4096"))
        XCTAssertTrue(error(minimal + "\ncluster: {refine: {max_shards: 256}}\n").contains("cluster.refine.max_shards: must be in 1…255"))
        XCTAssertTrue(error(minimal + "\ncluster: {refine: {max_shards: 0}}\n").contains("cluster.refine.max_shards: must be in 1…255, got 0"))
        XCTAssertEqual(error(minimal + "\ncluster: {refine: {max_shards: 255, k: 4096}}\n"), "no error")
    }

    func testShardsAreAutoOrACount() throws {
        XCTAssertEqual(try TrainerConfig.parse(yaml: minimal, path: "c.yml").cluster.shards, .automatic)
        XCTAssertEqual(try TrainerConfig.parse(yaml: minimal + "\ncluster: {shards: auto}\n", path: "c.yml").cluster.shards, .automatic)
        XCTAssertEqual(try TrainerConfig.parse(yaml: minimal + "\ncluster: {shards: 12}\n", path: "c.yml").cluster.shards, .fixed(12))
        for bad in ["0", "\"12\"", "many", "65537", "[4]"] {
            XCTAssertTrue(error(minimal + "\ncluster: {shards: \(bad)}\n").contains("cluster.shards: expected auto or a shard count in 1…65536"), bad)
        }
    }

    func testAutomaticShardsFollowTheCatalogSize() {
        let target = ShardLimits.targetItemsPerShard
        XCTAssertEqual(ShardCount.automatic.resolve(items: 2000, M: 32), 1)
        XCTAssertEqual(ShardCount.automatic.resolve(items: target, M: 32), 1)
        XCTAssertEqual(ShardCount.automatic.resolve(items: target + 1, M: 32), 2)
        XCTAssertEqual(ShardCount.automatic.resolve(items: 10_000_000, M: 32), (10_000_000 + target - 1) / target)
        XCTAssertEqual(ShardCount.automatic.resolve(items: 100_000_000, M: 32), 100_000_000 / target)
        XCTAssertEqual(ShardCount.automatic.resolve(items: 1, M: 32), 1)
        XCTAssertEqual(ShardCount.fixed(7).resolve(items: 10, M: 32), 7, "a fixed count is checked against the catalog elsewhere, by name")
    }

    func testTargetMayAlsoBeNumericButNotCategorical() {
        XCTAssertEqual(error(minimal), "no error")
        XCTAssertTrue(error("input: {features: f.parquet}\nfeatures: {onehot: [b], target_encode: [c], target: b}\n")
            .contains("features.target: column 'b' is also listed in features.onehot"))
    }

    func testEffectiveConfigParsesBackToTheSameConfig() throws {
        let yaml = minimal + """

        onehot: {min_frequency: 0.1}
        target_encoding: {smooth: 2.5}
        weighting: {domain_column: d, domain_weights: {x: 1.5, "y z": 2}}
        cluster: {tls: {cert: c.pem, key: k.pem}, listen: "tls+tcp://0.0.0.0:1"}
        export: {tensorboard: {embedding_name: "a \\"b\\"\\nc"}}
        """
        let config = try TrainerConfig.parse(yaml: yaml, path: "c.yml")
        let again = try TrainerConfig.parse(yaml: config.effective.yaml(), path: "effective.yml")
        XCTAssertEqual(again, config)
        XCTAssertEqual(again.effective, config.effective)
    }
}
