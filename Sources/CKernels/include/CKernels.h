#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Distance kinds understood by the batch kernel.
enum { HK_L2 = 0, HK_IP = 1 };

/// Squared Euclidean distance of two float vectors of length n.
float hk_l2sq(const float *a, const float *b, size_t n);
/// Dot product of two float vectors of length n.
float hk_dot(const float *a, const float *b, size_t n);
/// Distances from q to the vectors of `ids` in a strided record array:
/// vector i starts at base + ids[i] * stride (bytes). HK_IP gives 1 - dot.
void hk_distances(int kind, const float *q, const char *base, size_t stride,
                  const uint32_t *ids, size_t count, size_t dim, float *out);
/// Distances from 16 queries to n contiguous rows of dim floats, for exact search: qt holds the
/// queries transposed (qt[j * 16 + l] is dimension j of query l); out[r * 16 + l] is the distance of
/// row r to query l (HK_IP: 1 - dot); bit l of masks[r] is set when that distance is below thr[l],
/// so a caller keeping the k best per query skips the rows that beat none. Sums run in another order
/// than hk_dot's, so values can differ from it in the last bits.
void hk_distances_tile16(int kind, const float *qt, const float *rows, size_t n, size_t dim, const float *thr,
                         float *out, uint16_t *masks);
/// The instruction set chosen at start-up: "avx512", "avx2" or "scalar".
const char *hk_isa(void);
/// Forces a kernel family (for benchmarks and tests); returns 0 if this CPU lacks it.
int hk_force_isa(const char *name);
/// A hint to fetch the cache lines of [p, p + bytes).
void hk_prefetch(const void *p, size_t bytes);
/// A hint to fetch visited[ids[i]] for every i (the visited tags of a neighbour list).
void hk_prefetch_tags(const uint16_t *visited, const uint32_t *ids, size_t count);

#endif
