/// One one-hot encoded column: scikit-learn's OneHotEncoder(handle_unknown="ignore") with its
/// infrequent-category rules.
public struct OneHotColumn: Codable, Equatable, Sendable {
    public var name: String
    /// Sorted categories; the missing category (when the fit data had one) is last, as `nil`.
    public var categories: [CategoryValue?]
    /// Indices into `categories` grouped into one shared "infrequent" output, which comes last.
    public var infrequent: [Int]

    /// Output width.
    public var width: Int { categories.count - infrequent.count + (infrequent.isEmpty ? 0 : 1) }

    /// The output column of each category (infrequent ones share the last).
    func outputIndex() -> [Int] {
        let inf = Set(infrequent)
        var out = [Int](repeating: 0, count: categories.count)
        var next = 0
        for i in categories.indices where !inf.contains(i) {
            out[i] = next
            next += 1
        }
        for i in infrequent { out[i] = next }
        return out
    }

    static func fit(name: String, codes: [Int32], values: [CategoryValue], minFrequency: Double?, maxCategories: Int?) -> OneHotColumn {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var rank = [Int](repeating: 0, count: values.count)
        for (r, i) in order.enumerated() { rank[i] = r }
        var counts = [Int](repeating: 0, count: values.count)
        var missing = 0
        var used = [Bool](repeating: false, count: values.count)
        for c in codes {
            if c < 0 { missing += 1 } else {
                counts[rank[Int(c)]] += 1
                used[Int(c)] = true
            }
        }
        var categories: [CategoryValue?] = order.filter { used[$0] }.map { values[$0] }
        var categoryCounts = order.filter { used[$0] }.map { counts[rank[$0]] }
        if missing > 0 {
            categories.append(nil)
            categoryCounts.append(missing)
        }
        var infrequentMask = [Bool](repeating: false, count: categories.count)
        if let m = minFrequency {
            let threshold = m >= 1 ? m : m * Double(codes.count)
            for i in categories.indices where Double(categoryCounts[i]) < threshold { infrequentMask[i] = true }
        }
        let current = categories.count - infrequentMask.filter { $0 }.count + 1
        if let maxC = maxCategories, maxC < current {
            let frequent = maxC - 1
            if frequent == 0 {
                infrequentMask = infrequentMask.map { _ in true }
            } else {
                // numpy argsort(kind="mergesort") is stable: ties keep the earlier category first.
                let ascending = categories.indices.sorted { (categoryCounts[$0], $0) < (categoryCounts[$1], $1) }
                for i in ascending.dropLast(frequent) { infrequentMask[i] = true }
            }
        }
        return OneHotColumn(name: name, categories: categories, infrequent: categories.indices.filter { infrequentMask[$0] })
    }

    /// Writes the one-hot block of each row into `out` at `offset` (row stride `stride`).
    func transform(codes: [Int32], values: [CategoryValue], into out: inout [Double], offset: Int, stride: Int) {
        let outputs = outputIndex()
        var lookup: [CategoryValue: Int] = [:]
        var missingIndex: Int?
        for (i, c) in categories.enumerated() {
            if let c { lookup[c] = outputs[i] } else { missingIndex = outputs[i] }
        }
        let mapped = values.map { lookup[$0] }
        for (row, c) in codes.enumerated() {
            let j = c < 0 ? missingIndex : mapped[Int(c)]
            if let j { out[row * stride + offset + j] = 1 }
        }
    }
}

/// One target-encoded column: scikit-learn's TargetEncoder (smooth="auto" or a number) with
/// KFold(cv, shuffle=True, random_state=seed) cross-fitting, then a scaler.
public struct TargetEncodedColumn: Codable, Equatable, Sendable {
    enum CodingKeys: String, CodingKey {
        case name, categories, encodings, targetMean = "target_mean", scaler
    }

    public var name: String
    /// Sorted categories, missing (nil) last when present at fit time.
    public var categories: [CategoryValue?]
    /// Full-fit encoding of each category.
    public var encodings: [Double]
    /// Mean target over the fitting rows: the encoding of unknown categories.
    public var targetMean: Double
    public var scaler: Scaler

    /// Encodings of `categories` from the rows `rows` (indices into codes/y).
    static func encode(categoryOf: (Int) -> Int, categoryCount: Int, rows: [Int], y: [Double], smooth: Double?) -> (enc: [Double], mean: Double) {
        var sum = [Double](repeating: 0, count: categoryCount)
        var n = [Double](repeating: 0, count: categoryCount)
        var total = 0.0
        for r in rows {
            let c = categoryOf(r)
            sum[c] += y[r]
            n[c] += 1
            total += y[r]
        }
        let mean = rows.isEmpty ? 0 : total / Double(rows.count)
        var variance = 0.0
        for r in rows { variance += (y[r] - mean) * (y[r] - mean) }
        variance /= Double(max(rows.count, 1))
        var ss = [Double](repeating: 0, count: categoryCount)
        for r in rows {
            let c = categoryOf(r)
            let d = y[r] - sum[c] / n[c]
            ss[c] += d * d
        }
        var enc = [Double](repeating: mean, count: categoryCount)
        for c in 0..<categoryCount where n[c] > 0 {
            let mc = sum[c] / n[c]
            if let m = smooth {
                enc[c] = (sum[c] + m * mean) / (n[c] + m)
            } else {
                let vc = ss[c] / n[c]
                let lambda = n[c] * variance / (n[c] * variance + vc)
                enc[c] = lambda.isNaN ? mean : lambda * mc + (1 - lambda) * mean
            }
        }
        return (enc, mean)
    }

    /// Fits on the rows with a target and returns the column's (unscaled) values for every row:
    /// cross-fitted for the fitting rows, full-fit for the rest.
    static func fit(name: String, codes: [Int32], values: [CategoryValue], y: [Double], hasTarget: [Bool], cv: Int, seed: Int,
                    smooth: Double?) -> (TargetEncodedColumn, [Double]) {
        let order = values.indices.sorted { values[$0] < values[$1] }
        let fitRows = hasTarget.indices.filter { hasTarget[$0] }
        // Categories are those of the fitting rows (scikit-learn fits on them only).
        var used = [Bool](repeating: false, count: values.count)
        var missing = false
        for r in fitRows {
            if codes[r] < 0 { missing = true } else { used[Int(codes[r])] = true }
        }
        var categories: [CategoryValue?] = order.filter { used[$0] }.map { values[$0] }
        if missing { categories.append(nil) }
        var slot = [Int](repeating: -1, count: values.count)
        var k = 0
        for i in order where used[i] {
            slot[i] = k
            k += 1
        }
        let missingSlot = missing ? categories.count - 1 : -1
        // −1 = unknown to the fit.
        func category(_ r: Int) -> Int { codes[r] < 0 ? missingSlot : slot[Int(codes[r])] }
        let full = encode(categoryOf: category, categoryCount: categories.count,
                          rows: fitRows.filter { category($0) >= 0 }, y: y, smooth: smooth)
        var out = [Double](repeating: 0, count: codes.count)
        for r in codes.indices where !hasTarget[r] {
            let c = category(r)
            out[r] = c >= 0 ? full.enc[c] : full.mean
        }
        let folds = KFoldSplit.folds(n: fitRows.count, splits: cv, seed: UInt32(truncatingIfNeeded: seed))
        for f in 0..<cv {
            let train = fitRows.indices.filter { folds[$0] != f }.map { fitRows[$0] }
            let part = encode(categoryOf: category, categoryCount: categories.count, rows: train, y: y, smooth: smooth)
            var inTrain = [Bool](repeating: false, count: categories.count)
            for r in train { inTrain[category(r)] = true }
            for (p, r) in fitRows.enumerated() where folds[p] == f {
                let c = category(r)
                out[r] = inTrain[c] ? part.enc[c] : part.mean
            }
        }
        let column = TargetEncodedColumn(name: name, categories: categories, encodings: full.enc, targetMean: full.mean,
                                         scaler: Scaler(offset: 0, scale: 1))
        return (column, out)
    }

    /// Full-fit encodings for new rows (unknown categories get the target mean).
    func transform(codes: [Int32], values: [CategoryValue]) -> [Double] {
        var lookup: [CategoryValue: Double] = [:]
        var missingEnc = targetMean
        for (i, c) in categories.enumerated() {
            if let c { lookup[c] = encodings[i] } else { missingEnc = encodings[i] }
        }
        let mapped = values.map { lookup[$0] ?? targetMean }
        return codes.map { $0 < 0 ? missingEnc : mapped[Int($0)] }
    }
}
