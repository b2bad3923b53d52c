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

// Distances from a tile of 16 queries to contiguous rows, for exact search. qt holds the queries
// transposed (dim × 16), so each dimension costs one broadcast and one 16-wide multiply-add per row
// instead of a horizontal sum per pair; four rows at a time keep four independent accumulators.
// Written with intrinsics: clang's auto-vectorisation of the same loops fell back to shuffles.
static void tile_scalar(int kind, const float *qt, const float *rows, size_t n, size_t dim, const float *thr,
                        float *out, uint16_t *masks) {
    for (size_t r = 0; r < n; r++) {
        float acc[16] = {0};
        const float *b = rows + r * dim;
        for (size_t j = 0; j < dim; j++)
            for (int l = 0; l < 16; l++) {
                if (kind == HK_L2) { float t = qt[j * 16 + l] - b[j]; acc[l] += t * t; }
                else acc[l] += qt[j * 16 + l] * b[j];
            }
        uint32_t m = 0;
        for (int l = 0; l < 16; l++) {
            float d = kind == HK_L2 ? acc[l] : 1.0f - acc[l];
            out[r * 16 + l] = d;
            m |= (uint32_t)(d < thr[l]) << l;
        }
        masks[r] = (uint16_t)m;
    }
}

__attribute__((target("avx512f"))) static void tile_avx512(int kind, const float *qt, const float *rows, size_t n, size_t dim,
                                                           const float *thr, float *out, uint16_t *masks) {
    const __m512 t = _mm512_loadu_ps(thr), one = _mm512_set1_ps(1.0f);
    size_t r = 0;
    for (; r + 4 <= n; r += 4) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *b0 = rows + r * dim, *b1 = b0 + dim, *b2 = b1 + dim, *b3 = b2 + dim;
        if (kind == HK_L2) {
            for (size_t j = 0; j < dim; j++) {
                const __m512 q = _mm512_loadu_ps(qt + j * 16);
                __m512 d0 = _mm512_sub_ps(q, _mm512_set1_ps(b0[j])), d1 = _mm512_sub_ps(q, _mm512_set1_ps(b1[j]));
                __m512 d2 = _mm512_sub_ps(q, _mm512_set1_ps(b2[j])), d3 = _mm512_sub_ps(q, _mm512_set1_ps(b3[j]));
                a0 = _mm512_fmadd_ps(d0, d0, a0); a1 = _mm512_fmadd_ps(d1, d1, a1);
                a2 = _mm512_fmadd_ps(d2, d2, a2); a3 = _mm512_fmadd_ps(d3, d3, a3);
            }
        } else {
            for (size_t j = 0; j < dim; j++) {
                const __m512 q = _mm512_loadu_ps(qt + j * 16);
                a0 = _mm512_fmadd_ps(q, _mm512_set1_ps(b0[j]), a0); a1 = _mm512_fmadd_ps(q, _mm512_set1_ps(b1[j]), a1);
                a2 = _mm512_fmadd_ps(q, _mm512_set1_ps(b2[j]), a2); a3 = _mm512_fmadd_ps(q, _mm512_set1_ps(b3[j]), a3);
            }
            a0 = _mm512_sub_ps(one, a0); a1 = _mm512_sub_ps(one, a1); a2 = _mm512_sub_ps(one, a2); a3 = _mm512_sub_ps(one, a3);
        }
        _mm512_storeu_ps(out + r * 16, a0); _mm512_storeu_ps(out + (r + 1) * 16, a1);
        _mm512_storeu_ps(out + (r + 2) * 16, a2); _mm512_storeu_ps(out + (r + 3) * 16, a3);
        masks[r] = _mm512_cmp_ps_mask(a0, t, _CMP_LT_OQ); masks[r + 1] = _mm512_cmp_ps_mask(a1, t, _CMP_LT_OQ);
        masks[r + 2] = _mm512_cmp_ps_mask(a2, t, _CMP_LT_OQ); masks[r + 3] = _mm512_cmp_ps_mask(a3, t, _CMP_LT_OQ);
    }
    if (r < n) tile_scalar(kind, qt, rows + r * dim, n - r, dim, thr, out + r * 16, masks + r);
}

__attribute__((target("avx2,fma"))) static void tile_avx2(int kind, const float *qt, const float *rows, size_t n, size_t dim,
                                                         const float *thr, float *out, uint16_t *masks) {
    const __m256 tl = _mm256_loadu_ps(thr), th = _mm256_loadu_ps(thr + 8), one = _mm256_set1_ps(1.0f);
    size_t r = 0;
    for (; r + 2 <= n; r += 2) {
        __m256 l0 = _mm256_setzero_ps(), h0 = l0, l1 = l0, h1 = l0;
        const float *b0 = rows + r * dim, *b1 = b0 + dim;
        for (size_t j = 0; j < dim; j++) {
            const __m256 ql = _mm256_loadu_ps(qt + j * 16), qh = _mm256_loadu_ps(qt + j * 16 + 8);
            const __m256 x0 = _mm256_set1_ps(b0[j]), x1 = _mm256_set1_ps(b1[j]);
            if (kind == HK_L2) {
                __m256 d;
                d = _mm256_sub_ps(ql, x0); l0 = _mm256_fmadd_ps(d, d, l0);
                d = _mm256_sub_ps(qh, x0); h0 = _mm256_fmadd_ps(d, d, h0);
                d = _mm256_sub_ps(ql, x1); l1 = _mm256_fmadd_ps(d, d, l1);
                d = _mm256_sub_ps(qh, x1); h1 = _mm256_fmadd_ps(d, d, h1);
            } else {
                l0 = _mm256_fmadd_ps(ql, x0, l0); h0 = _mm256_fmadd_ps(qh, x0, h0);
                l1 = _mm256_fmadd_ps(ql, x1, l1); h1 = _mm256_fmadd_ps(qh, x1, h1);
            }
        }
        if (kind != HK_L2) {
            l0 = _mm256_sub_ps(one, l0); h0 = _mm256_sub_ps(one, h0); l1 = _mm256_sub_ps(one, l1); h1 = _mm256_sub_ps(one, h1);
        }
        _mm256_storeu_ps(out + r * 16, l0); _mm256_storeu_ps(out + r * 16 + 8, h0);
        _mm256_storeu_ps(out + (r + 1) * 16, l1); _mm256_storeu_ps(out + (r + 1) * 16 + 8, h1);
        masks[r] = (uint16_t)(_mm256_movemask_ps(_mm256_cmp_ps(l0, tl, _CMP_LT_OQ)) | _mm256_movemask_ps(_mm256_cmp_ps(h0, th, _CMP_LT_OQ)) << 8);
        masks[r + 1] = (uint16_t)(_mm256_movemask_ps(_mm256_cmp_ps(l1, tl, _CMP_LT_OQ)) | _mm256_movemask_ps(_mm256_cmp_ps(h1, th, _CMP_LT_OQ)) << 8);
    }
    if (r < n) tile_scalar(kind, qt, rows + r * dim, n - r, dim, thr, out + r * 16, masks + r);
}

__attribute__((target("avx2,fma"))) static float l2_avx2_fn(const float *a, const float *b, size_t n) { return l2_avx2(a, b, n); }
__attribute__((target("avx2,fma"))) static float dot_avx2_fn(const float *a, const float *b, size_t n) { return dot_avx2(a, b, n); }
__attribute__((target("avx512f"))) static float l2_avx512_fn(const float *a, const float *b, size_t n) { return l2_avx512(a, b, n); }
__attribute__((target("avx512f"))) static float dot_avx512_fn(const float *a, const float *b, size_t n) { return dot_avx512(a, b, n); }

typedef float (*pair_fn)(const float *, const float *, size_t);
typedef void (*batch_fn)(int, const float *, const char *, size_t, const uint32_t *, size_t, size_t, float *);
typedef void (*tile_fn)(int, const float *, const float *, size_t, size_t, const float *, float *, uint16_t *);

static pair_fn g_l2 = l2_scalar, g_dot = dot_scalar;
static batch_fn g_batch = batch_scalar;
static tile_fn g_tile = tile_scalar;
static const char *g_isa = "scalar";

int hk_force_isa(const char *name) {
    __builtin_cpu_init();
    if (strcmp(name, "avx512") == 0) {
        if (!__builtin_cpu_supports("avx512f")) return 0;
        g_l2 = l2_avx512_fn; g_dot = dot_avx512_fn; g_batch = batch_avx512; g_tile = tile_avx512; g_isa = "avx512";
    } else if (strcmp(name, "avx2") == 0) {
        if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
        g_l2 = l2_avx2_fn; g_dot = dot_avx2_fn; g_batch = batch_avx2; g_tile = tile_avx2; g_isa = "avx2";
    } else if (strcmp(name, "scalar") == 0) {
        g_l2 = l2_scalar; g_dot = dot_scalar; g_batch = batch_scalar; g_tile = tile_scalar; g_isa = "scalar";
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
void hk_distances_tile16(int kind, const float *qt, const float *rows, size_t n, size_t dim, const float *thr,
                         float *out, uint16_t *masks) {
    g_tile(kind, qt, rows, n, dim, thr, out, masks);
}
const char *hk_isa(void) { return g_isa; }
void hk_prefetch(const void *p, size_t bytes) { prefetch_lines((const char *)p, bytes); }
void hk_prefetch_tags(const uint16_t *visited, const uint32_t *ids, size_t count) {
    for (size_t i = 0; i < count; i++) __builtin_prefetch(visited + ids[i], 1, 3);
}
