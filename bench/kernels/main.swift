// Distance-kernel micro-benchmark: Swift SIMD against the C kernels (AVX-512, AVX2, scalar).
// Run with bench/kernels/run.sh; it prints ns per distance for d = 32, 64, 128.
#if canImport(Glibc)
import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

@inline(never)
func swiftDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD16<Float>()
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 16 <= n {
        acc += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self) * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD16<Float>.self)
        i += 16
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

let rows = 4096
for dim in [32, 64, 128] {
    let data = UnsafeMutablePointer<Float>.allocate(capacity: rows * dim)
    for i in 0..<(rows * dim) { data[i] = Float(i % 97) * 0.01 }
    let q = UnsafeMutablePointer<Float>.allocate(capacity: dim)
    for i in 0..<dim { q[i] = Float(i % 13) * 0.1 }
    let reps = 300
    func time(_ name: String, _ f: (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Float) {
        var best = Double.infinity
        var sink: Float = 0
        for _ in 0..<5 {
            let t0 = now()
            for _ in 0..<reps { for r in 0..<rows { sink += f(q, data + r * dim, dim) } }
            best = min(best, (now() - t0) / Double(reps * rows))
        }
        print("d=\(dim)\t\(name)\t\((best * 1e11).rounded() / 100) ns\t(checksum \(sink > 0))")
    }
    time("swift SIMD16") { swiftDot($0, $1, $2) }
    for isa in ["avx512", "avx2", "scalar"] where hk_force_isa(isa) != 0 {
        time("C \(isa)") { hk_dot($0, $1, $2) }
    }
}
