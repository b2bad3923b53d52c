/* Replays hnswlib 0.8.0's k-NN search (cosine) over an hnswlib index file and counts its work.
 *
 * Timing hnswlib on a shared machine swings by ±15% between processes serving the same file, which
 * hides the differences between graphs that the benchmarks are after. The number of distance
 * computations a query needs does not swing: this program walks the file exactly as hnswlib's
 * searchKnn does (greedy descent on the upper layers, then the ef-bounded best-first search on
 * layer 0) and reports, per ef, the mean distance computations and layer-0 expansions per query.
 * It also writes the labels it found, so the caller can check they are hnswlib's own answers.
 *
 * usage: search_cost INDEX QUERIES DIM NQ K LABELS_OUT EF [EF ...]
 *   QUERIES: NQ × DIM float32, already normalised; LABELS_OUT: receives, per ef, NQ × K int64 labels.
 * Prints one JSON array: [{"ef": e, "distances": mean, "expansions": mean}, ...].
 * Build: cc -O2 -o search_cost search_cost.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { float d; uint32_t id; } Item;
typedef struct { Item *a; size_t n, cap; } Heap; /* max-heap on d */

static void push(Heap *h, float d, uint32_t id) {
    if (h->n == h->cap) { h->cap = h->cap ? 2 * h->cap : 64; h->a = realloc(h->a, h->cap * sizeof(Item)); if (!h->a) exit(3); }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h->a[p].d >= d) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i].d = d; h->a[i].id = id;
}

static void pop(Heap *h) {
    Item last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        float md = last.d;
        if (l < h->n && h->a[l].d > md) { m = l; md = h->a[l].d; }
        if (r < h->n && h->a[r].d > md) { m = r; }
        if (m == i) break;
        h->a[i] = h->a[m];
        i = m;
    }
    if (h->n) h->a[i] = last;
}

static uint64_t u64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t u32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }

int main(int argc, char **argv) {
    if (argc < 8) { fprintf(stderr, "usage: search_cost INDEX QUERIES DIM NQ K LABELS_OUT EF...\n"); return 2; }
    size_t dim = strtoul(argv[3], 0, 10), nq = strtoul(argv[4], 0, 10), k = strtoul(argv[5], 0, 10);
    if (k == 0 || k > 4096) { fprintf(stderr, "k must be in 1...4096\n"); return 2; }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(size);
    if (!b || fread(b, 1, size, f) != size) { fprintf(stderr, "%s: cannot read\n", argv[1]); return 1; }
    fclose(f);
    if (size < 96) { fprintf(stderr, "%s: too short\n", argv[1]); return 1; }
    size_t n = u64(b + 16), stride = u64(b + 24), labelOff = u64(b + 32), dataOff = u64(b + 40);
    int maxLevel = (int)u32(b + 48);
    uint32_t entry = u32(b + 52);
    size_t maxM = u64(b + 56), maxM0 = u64(b + 64);
    size_t linksPer = maxM * 4 + 4;
    if (dataOff != maxM0 * 4 + 4 || labelOff != dataOff + dim * 4 || 96 + n * stride > size) {
        fprintf(stderr, "%s: not a cosine index of dimension %zu\n", argv[1], dim);
        return 1;
    }
    const unsigned char *l0 = b + 96;
    const unsigned char **upper = calloc(n, sizeof(*upper));
    const unsigned char *p = l0 + n * stride;
    for (size_t i = 0; i < n; i++) {
        if (p + 4 > b + size) { fprintf(stderr, "%s: truncated upper layers\n", argv[1]); return 1; }
        uint32_t s = u32(p);
        p += 4;
        if (s) upper[i] = p;
        p += s;
    }
    float *q = malloc(nq * dim * sizeof(float));
    FILE *qf = fopen(argv[2], "rb");
    if (!qf || fread(q, sizeof(float), nq * dim, qf) != nq * dim) { fprintf(stderr, "%s: cannot read\n", argv[2]); return 1; }
    fclose(qf);
    FILE *out = fopen(argv[6], "wb");
    if (!out) { perror(argv[6]); return 1; }
    uint32_t *seen = calloc(n, sizeof(uint32_t)), epoch = 0;
    Heap top = {0}, cand = {0};
    printf("[");
    for (int e = 7; e < argc; e++) {
        size_t ef = strtoul(argv[e], 0, 10);
        if (ef < k) ef = k;
        double dists = 0, expansions = 0;
        for (size_t qi = 0; qi < nq; qi++) {
            const float *x = q + qi * dim;
#define DIST(id) ({ const float *v_ = (const float *)(l0 + (size_t)(id) * stride + dataOff); float s_ = 0; \
                    for (size_t t_ = 0; t_ < dim; t_++) s_ += x[t_] * v_[t_]; dists += 1; 1.0f - s_; })
            uint32_t cur = entry;
            float curD = DIST(cur);
            for (int level = maxLevel; level > 0; level--) {
                int changed = 1;
                while (changed) {
                    changed = 0;
                    const unsigned char *list = upper[cur] + (size_t)(level - 1) * linksPer;
                    uint32_t c = u32(list) & 0xFFFF;
                    for (uint32_t j = 0; j < c; j++) {
                        uint32_t y = u32(list + 4 + 4 * j);
                        float d = DIST(y);
                        if (d < curD) { curD = d; cur = y; changed = 1; }
                    }
                }
            }
            if (++epoch == 0) { memset(seen, 0, n * sizeof(uint32_t)); epoch = 1; }
            top.n = cand.n = 0;
            float bound = curD;
            push(&top, curD, cur);
            push(&cand, -curD, cur);
            seen[cur] = epoch;
            while (cand.n) {
                Item c = cand.a[0];
                if (-c.d > bound && top.n == ef) break;
                pop(&cand);
                expansions += 1;
                const unsigned char *rec = l0 + (size_t)c.id * stride;
                uint32_t cnt = u32(rec) & 0xFFFF;
                for (uint32_t j = 0; j < cnt; j++) {
                    uint32_t y = u32(rec + 4 + 4 * j);
                    if (seen[y] == epoch) continue;
                    seen[y] = epoch;
                    float d = DIST(y);
                    if (top.n < ef || bound > d) {
                        push(&cand, -d, y);
                        push(&top, d, y);
                        if (top.n > ef) pop(&top);
                        bound = top.a[0].d;
                    }
                }
            }
            while (top.n > k) pop(&top);
            int64_t labels[4096];
            size_t m = top.n;
            for (size_t r = m; r-- > 0;) {
                labels[r] = (int64_t)u64(l0 + (size_t)top.a[0].id * stride + labelOff);
                pop(&top);
            }
            for (size_t r = m; r < k; r++) labels[r] = -1;
            fwrite(labels, sizeof(int64_t), k, out);
        }
        printf("%s{\"ef\": %zu, \"distances\": %.3f, \"expansions\": %.3f}", e > 7 ? ", " : "", ef, dists / nq, expansions / nq);
    }
    printf("]\n");
    fclose(out);
    return 0;
}
