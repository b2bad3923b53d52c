import XCTest
@testable import Shared

final class PipelineTests: XCTestCase {
    func testMT19937MatchesTheReferenceAndNumpyShuffle() {
        var rng = LegacyMT19937(seed: 5489)
        XCTAssertEqual(rng.next(), 3_499_211_612, "the canonical first output of MT19937 seeded with 5489")
        var a = Array(0..<20)
        var r42 = LegacyMT19937(seed: 42)
        r42.shuffle(&a)
        // numpy: a = np.arange(20); np.random.RandomState(42).shuffle(a)
        XCTAssertEqual(a, [0, 17, 15, 1, 8, 5, 11, 3, 18, 16, 13, 2, 9, 19, 4, 12, 7, 10, 14, 6])
        // scikit-learn: KFold(5, shuffle=True, random_state=7) over 13 samples.
        XCTAssertEqual(KFoldSplit.folds(n: 13, splits: 5, seed: 7), [1, 1, 0, 3, 4, 1, 3, 2, 0, 4, 0, 2, 2])
    }

    func testNumpyStatistics() {
        XCTAssertEqual(Statistics.percentile(sorted: [1, 2, 3, 4, 10], 25), 2)
        XCTAssertEqual(Statistics.percentile(sorted: [1, 2, 3, 4, 10], 75), 4)
        XCTAssertEqual(Statistics.percentile(sorted: [1, 2], 25), 1.25)
        XCTAssertEqual(Statistics.median(sorted: [1, 2, 3, 4]), 2.5, "mean of the two middle values")
        XCTAssertEqual(Statistics.median(sorted: [7]), 7)
        let (m, v) = Statistics.weightedMeanVariance([1, 2, 4], weights: [1, 1, 2])
        XCTAssertEqual(m, 11.0 / 4)
        XCTAssertEqual(v, (1 * 3.0625 + 1 * 0.5625 + 2 * 1.5625) / 4, accuracy: 1e-12)
    }

    func testCleanerImputesClipsAndRefusesNegativeLogs() throws {
        let raw: [Double] = [1, 2, .nan, 3, 4, 100]
        let c = try DataCleaner.fit(name: "x", raw: raw, logTransform: false, missing: "median", outliers: "iqr", k: 1.5,
                                    ids: ["a", "b", "c", "d", "e", "f"], source: "f.parquet")
        XCTAssertEqual(c.fill, 3)                 // median of 1 2 3 4 100
        XCTAssertEqual(c.lowFence, 2 - 1.5 * 2)   // Q1 2, Q3 4
        XCTAssertEqual(c.highFence, 4 + 1.5 * 2)
        XCTAssertEqual(try c.apply(raw, ids: ["a", "b", "c", "d", "e", "f"], source: "f"), [1, 2, 3, 3, 4, 7])
        XCTAssertThrowsError(try DataCleaner.fit(name: "cost", raw: [1, -2], logTransform: true, missing: "median", outliers: "none",
                                                 k: 1.5, ids: ["i1", "i2"], source: "f.parquet")) {
            XCTAssertEqual("\($0)", "f.parquet: column 'cost' is log-transformed but item 'i2' has the negative value -2.0")
        }
        XCTAssertThrowsError(try DataCleaner.fit(name: "empty", raw: [.nan, .nan], logTransform: false, missing: "median",
                                                 outliers: "none", k: 1.5, ids: ["a", "b"], source: "f.parquet"))
    }

    func testScalersHandleConstantColumns() {
        XCTAssertEqual(Scaler.fit("standard", [5, 5, 5], weights: nil), Scaler(offset: 5, scale: 1))
        XCTAssertEqual(Scaler.fit("minmax", [1, 3, 5], weights: nil), Scaler(offset: 1, scale: 4))
        XCTAssertEqual(Scaler.fit("robust", [1, 2, 3, 4, 10], weights: nil), Scaler(offset: 3, scale: 2))
        XCTAssertEqual(Scaler.fit("standard", [0, 2], weights: [3, 1]), Scaler(offset: 0.5, scale: (0.75).squareRoot()))
    }

    func testOneHotSortsByBytesAndGroupsInfrequentCategories() {
        // values: b, a, é, c — counts: a 3, b 1, c 2, é 1, missing 1
        let values: [CategoryValue] = [.string("b"), .string("a"), .string("é"), .string("c")]
        let codes: [Int32] = [1, 1, 1, 0, 3, 3, 2, -1]
        let plain = OneHotColumn.fit(name: "p", codes: codes, values: values, minFrequency: nil, maxCategories: nil)
        XCTAssertEqual(plain.categories, [.string("a"), .string("b"), .string("c"), .string("é"), nil])
        XCTAssertEqual(plain.width, 5)
        let rare = OneHotColumn.fit(name: "p", codes: codes, values: values, minFrequency: 2, maxCategories: nil)
        XCTAssertEqual(rare.infrequent, [1, 3, 4])  // b, é and missing have fewer than 2 rows
        XCTAssertEqual(rare.width, 3)
        let capped = OneHotColumn.fit(name: "p", codes: codes, values: values, minFrequency: nil, maxCategories: 3)
        // Two frequent categories are kept: a (3) and c (2); ties at 1 all become infrequent.
        XCTAssertEqual(capped.infrequent, [1, 3, 4])
        var out = [Double](repeating: 0, count: 8 * 3)
        capped.transform(codes: codes, values: values, into: &out, offset: 0, stride: 3)
        XCTAssertEqual(Array(out[0..<3]), [1, 0, 0])   // a
        XCTAssertEqual(Array(out[9..<12]), [0, 0, 1])  // b → infrequent
        XCTAssertEqual(Array(out[21..<24]), [0, 0, 1]) // missing → infrequent
    }

    func testTargetEncoderSingleRowCategoryGetsItsOwnMean() {
        // Full fit: ȳ = 2.5, σ² = 1.25; category x has one row (λ = 1).
        let (enc, mean) = TargetEncodedColumn.encode(categoryOf: { [0, 1, 1, 1][$0] }, categoryCount: 3, rows: [0, 1, 2, 3],
                                                     y: [4, 1, 2, 3], smooth: nil)
        XCTAssertEqual(mean, 2.5)
        XCTAssertEqual(enc[0], 4)
        let lambda = 3 * 1.25 / (3 * 1.25 + 2.0 / 3)
        XCTAssertEqual(enc[1], lambda * 2 + (1 - lambda) * 2.5, accuracy: 1e-12)
        XCTAssertEqual(enc[2], 2.5, "an unseen category gets the mean")
    }

    func testConfigErrorsNameTheKey() {
        let base = "input: {features: f.parquet}\nfeatures: {numeric: [a]}\n"
        XCTAssertNoThrow(try TrainerConfig.parse(yaml: base, path: "c.yml"))
        func message(_ yaml: String) -> String {
            do {
                _ = try TrainerConfig.parse(yaml: yaml, path: "c.yml")
                return "no error"
            } catch { return "\(error)" }
        }
        XCTAssertEqual(message(base + "sed: 1\n"), "c.yml: sed: unknown key (known here: cleaning, cluster, export, features, incremental, index, input, model_version, onehot, quality, scaling, seed, target_encoding, weighting)")
        XCTAssertEqual(message("features: {numeric: [a]}\n"), "c.yml: input.features: is required")
        XCTAssertEqual(message(base + "index: {M: 1}\n"), "c.yml: index.M: must be in 2…10000, got 1")
        XCTAssertEqual(message(base + "scaling: fancy\n"), "c.yml: scaling: must be one of standard, robust, minmax, none, got 'fancy'")
        XCTAssertEqual(message("input: {features: f.parquet}\nfeatures: {numeric: [a], onehot: [a]}\n"),
                       "c.yml: features.onehot: column 'a' is already listed in features.numeric")
        XCTAssertEqual(message(base + "weighting: {scale_rows: true}\n").prefix(40), "c.yml: weighting.scale_rows: cannot be u")
        XCTAssertEqual(message("input: [1]\n"), "c.yml: input: expected a mapping of keys")
    }
}

final class PipelineRoundTripTests: XCTestCase {
    func catalog(_ n: Int) -> Catalog {
        var cost = (0..<n).map { Double($0 % 17) * 1.5 }
        cost[3] = .nan
        let supplierCodes = (0..<n).map { Int32($0 % 5 == 0 ? -1 : $0 % 7) }
        let target = (0..<n).map { $0 % 4 == 0 ? Double.nan : Double($0 % 3) / 10 }
        let region = (0..<n).map { Int32($0 % 3) }
        return Catalog(ids: (0..<n).map { "id\($0)" },
                       columns: ["cost": .numeric(cost), "volume": .numeric((0..<n).map { Double($0 + 1) }),
                                 "supplier": .categorical(codes: supplierCodes, values: (0..<7).map { .string("s\($0)") }),
                                 "region": .categorical(codes: region, values: [.string("EU"), .string("NA"), .string("APAC")]),
                                 "y": .numeric(target)],
                       sources: [:])
    }

    func config() throws -> TrainerConfig {
        try TrainerConfig.parse(yaml: """
            input: {features: f.parquet}
            features: {numeric: [cost], log_transform: [cost], onehot: [region], target_encode: [supplier], target: y}
            weighting: {item_weight_column: volume}
            """, path: "test.yml")
    }

    func testSavedPipelineTransformsBitIdentically() throws {
        let c = catalog(300)
        let (pipeline, fitted, _) = try FeaturePipeline.fit(c, config: try config())
        XCTAssertEqual(pipeline.dimension, 1 + 3 + 1)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(getpid()).json").path
        try pipeline.save(to: path)
        let loaded = try FeaturePipeline.load(path: path)
        XCTAssertEqual(loaded, pipeline)
        let before = try pipeline.transform(c).vectors
        let after = try loaded.transform(c).vectors
        XCTAssertEqual(before.map(\.bitPattern), after.map(\.bitPattern))
        // Rows without a target are encoded with the full fit in both paths; rows with one were
        // cross-fitted during the fit, as scikit-learn's fit_transform does.
        let d = pipeline.dimension
        for r in stride(from: 0, to: 300, by: 4) {
            XCTAssertEqual(Array(fitted[(r * d)..<((r + 1) * d)]), Array(after[(r * d)..<((r + 1) * d)]), "row \(r)")
        }
    }

    func testUnknownCategoriesAtTransformUseTheFallbacks() throws {
        let (pipeline, _, _) = try FeaturePipeline.fit(catalog(200), config: try config())
        var fresh = catalog(4)
        fresh.columns["region"] = .categorical(codes: [0, 0, 0, 0], values: [.string("MARS")])
        fresh.columns["supplier"] = .categorical(codes: [0, 0, 0, 0], values: [.string("never-seen")])
        let v = try pipeline.transform(fresh).vectors
        XCTAssertEqual(Array(v[1..<4]), [0, 0, 0], "an unknown one-hot category is all zeros")
        let te = pipeline.targetEncoded[0]
        XCTAssertEqual(v[4], Float(te.scaler.apply(te.targetMean)), "an unknown category gets the target mean")
    }
}
