// Distance kernels. Swift's SIMD types did not reach AVX-512 code generation in our measurement
// (docs/decisions.md), so the two hot functions live here with runtime CPU dispatch.
#include "CKernels.h"
#include <immintrin.h>
#include <string.h>

static float l2_scalar(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}

static float dot_scalar(const float *a, const float *b, size_t n) {
    float s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static inline float l2_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    for (; i + 8 <= n; i += 8) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) { float d = a[i] - b[i]; s += d * d; }
    return s;
}

__attribute__((target("avx2,fma"))) static inline float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

__attribute__((target("avx512f"))) static inline float l2_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 d0 = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s1 = _mm512_fmadd_ps(d0, d0, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

__attribute__((target("avx512f"))) static inline float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

static inline void prefetch_lines(const char *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(p + o, 0, 3);
}

// One batch loop per instruction set, so the kernel inlines into it. Vectors are prefetched six
// ids ahead: measured against one and three ahead in docs/decisions.md.
#define BATCH(NAME, ATTR, L2, DOT)                                                              \
    ATTR static void NAME(int kind, const float *q, const char *base, size_t stride,             \
                          const uint32_t *ids, size_t count, size_t dim, float *out) {           \
        size_t bytes = dim * sizeof(float);                                                      \
        for (size_t i = 0; i < count && i < 6; i++) prefetch_lines(base + (size_t)ids[i] * stride, bytes); \
        for (size_t i = 0; i < count; i++) {                                                     \
            if (i + 6 < count) prefetch_lines(base + (size_t)ids[i + 6] * stride, bytes);        \
            const float *v = (const float *)(base + (size_t)ids[i] * stride);                    \
            out[i] = kind == HK_L2 ? L2(q, v, dim) : 1.0f - DOT(q, v, dim);                      \
        }                                                                                        \
    }

BATCH(batch_scalar, , l2_scalar, dot_scalar)
BATCH(batch_avx2, __attribute__((target("avx2,fma"))), l2_avx2, dot_avx2)
BATCH(batch_avx512, __attribute__((target("avx512f"))), l2_avx512, dot_avx512)

__attribute__((target("avx2,fma"))) static float l2_avx2_fn(const float *a, const float *b, size_t n) { return l2_avx2(a, b, n); }
__attribute__((target("avx2,fma"))) static float dot_avx2_fn(const float *a, const float *b, size_t n) { return dot_avx2(a, b, n); }
__attribute__((target("avx512f"))) static float l2_avx512_fn(const float *a, const float *b, size_t n) { return l2_avx512(a, b, n); }
__attribute__((target("avx512f"))) static float dot_avx512_fn(const float *a, const float *b, size_t n) { return dot_avx512(a, b, n); }

typedef float (*pair_fn)(const float *, const float *, size_t);
typedef void (*batch_fn)(int, const float *, const char *, size_t, const uint32_t *, size_t, size_t, float *);

static pair_fn g_l2 = l2_scalar, g_dot = dot_scalar;
static batch_fn g_batch = batch_scalar;
static const char *g_isa = "scalar";

int hk_force_isa(const char *name) {
    __builtin_cpu_init();
    if (strcmp(name, "avx512") == 0) {
        if (!__builtin_cpu_supports("avx512f")) return 0;
        g_l2 = l2_avx512_fn; g_dot = dot_avx512_fn; g_batch = batch_avx512; g_isa = "avx512";
    } else if (strcmp(name, "avx2") == 0) {
        if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
        g_l2 = l2_avx2_fn; g_dot = dot_avx2_fn; g_batch = batch_avx2; g_isa = "avx2";
    } else if (strcmp(name, "scalar") == 0) {
        g_l2 = l2_scalar; g_dot = dot_scalar; g_batch = batch_scalar; g_isa = "scalar";
    } else {
        return 0;
    }
    return 1;
}

__attribute__((constructor)) static void hk_init(void) {
    if (!hk_force_isa("avx512") && !hk_force_isa("avx2")) hk_force_isa("scalar");
}

float hk_l2sq(const float *a, const float *b, size_t n) { return g_l2(a, b, n); }
float hk_dot(const float *a, const float *b, size_t n) { return g_dot(a, b, n); }
void hk_distances(int kind, const float *q, const char *base, size_t stride, const uint32_t *ids,
                  size_t count, size_t dim, float *out) {
    g_batch(kind, q, base, stride, ids, count, dim, out);
}
const char *hk_isa(void) { return g_isa; }
void hk_prefetch(const void *p, size_t bytes) { prefetch_lines((const char *)p, bytes); }
void hk_prefetch_tags(const uint16_t *visited, const uint32_t *ids, size_t count) {
    for (size_t i = 0; i < count; i++) __builtin_prefetch(visited + ids[i], 1, 3);
}
