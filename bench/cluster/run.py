"""Cluster build against a single-node build on the same data and cores.

For each shard count S it builds the index with `trainer build-index --workers W --shards S` (S = 1 is
the single-node build on all cores) and reports, against the single-node build:
  recall@10 at ef 64 and 128 (queries through hnswlib 0.8.0, which loads the files),
  total CPU seconds of every process (coordinator + workers), the coordinator's own CPU seconds,
  wall time here with W workers, and the projected wall time with W = S workers
  (plan + slowest shard build + slowest refinement + merge, from the per-job timings).
Writes bench/out/cluster-<dataset>.json and bench/out/cluster.svg (recall and CPU against S).

usage: .venv/bin/python bench/cluster/run.py [--datasets normal200k,mixture1m] [--shards 1,2,4,8,16] [--workers 2]
"""
import argparse, json, os, resource, subprocess, sys, time
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out")
M, EFC = 16, 200


def dataset(name):
    path = os.path.join(OUT, f"{name}.npy")
    qpath = os.path.join(OUT, f"{name}-queries.npy")
    if not os.path.exists(path):
        if name == "normal200k":
            x = np.random.default_rng(1).standard_normal((200_000, 64), dtype=np.float32)
            q = np.random.default_rng(2).standard_normal((1000, 64), dtype=np.float32)
        elif name == "mixture1m":
            rng = np.random.default_rng(3)
            centres = rng.standard_normal((100, 64), dtype=np.float32) * 1.5
            x = (centres[rng.integers(0, 100, 1_000_000)] + rng.standard_normal((1_000_000, 64), dtype=np.float32)).astype(np.float32)
            r = np.random.default_rng(4)
            q = (x[r.choice(len(x), 1000, replace=False)] + 0.5 * r.standard_normal((1000, 64), dtype=np.float32)).astype(np.float32)
        else:
            raise SystemExit(f"unknown dataset {name}")
        np.save(path, x)
        np.save(qpath, q)
    return path, np.load(path, mmap_mode="r"), np.load(qpath)


def truth(x, q, k=10):
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    best = np.zeros((len(q), 0), dtype=np.int64)
    best_d = np.zeros((len(q), 0), dtype=np.float32)
    for start in range(0, len(x), 200_000):
        d = -(qn @ xn[start:start + 200_000].T)
        idx = np.argpartition(d, k, axis=1)[:, :k]
        cand = np.concatenate([best, idx + start], axis=1)
        cd = np.concatenate([best_d, np.take_along_axis(d, idx, 1)], axis=1)
        o = np.argsort(cd, axis=1, kind="stable")[:, :k]
        best, best_d = np.take_along_axis(cand, o, 1), np.take_along_axis(cd, o, 1)
    return best


def recall_at(path, dim, q, t, ef):
    import hnswlib
    idx = hnswlib.Index(space="cosine", dim=dim)
    idx.load_index(path)
    idx.set_num_threads(1)
    idx.set_ef(ef)
    labels, _ = idx.knn_query(q, k=10)
    return float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(labels, t)]))


def run(vectors, out, shards, workers, threads):
    args = [TRAINER, "build-index", "--vectors", vectors, "--out", out, "-M", str(M), "--ef-construction", str(EFC),
            "--threads", str(threads), "--json"]
    if shards > 1:
        args += ["--workers", str(workers), "--shards", str(shards), "--work-dir", out + ".work"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    p = subprocess.run(args, capture_output=True, text=True)
    wall = time.time() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(p.stderr)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    meta = json.loads(p.stdout.strip().splitlines()[-1])
    return wall, cpu, meta


def svg(results, path):
    """Two panels: recall@10 (ef 128) minus the single build's, and total CPU / single build's, against S."""
    W, H, pad = 760, 300, 50
    colors = {"normal200k": "#1f77b4", "mixture1m": "#d62728"}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>']
    panels = [("recall@10 at ef 128 − single build (pp)", lambda r, base: 100 * (r["recall128"] - base["recall128"]), -2, 10),
              ("total CPU / single build", lambda r, base: r["cpu"] / base["cpu"], 0, 2)]
    pw = (W - 3 * pad) / 2
    for k, (title, f, lo, hi) in enumerate(panels):
        x0 = pad + k * (pw + pad)
        y0, y1 = pad, H - pad
        parts.append(f'<text x="{x0 + pw / 2}" y="{pad - 20}" text-anchor="middle" font-size="12">{title}</text>')
        parts.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{y1 - y0}" fill="none" stroke="#888"/>')
        shards = [1, 2, 4, 8, 16]
        X = lambda s: x0 + pw * (np.log2(s) / 4)
        Y = lambda v: y1 - (y1 - y0) * (min(max(v, lo), hi) - lo) / (hi - lo)
        for s in shards:
            parts.append(f'<text x="{X(s)}" y="{y1 + 14}" text-anchor="middle">S={s}</text>')
        for v in np.linspace(lo, hi, 5):
            parts.append(f'<text x="{x0 - 5}" y="{Y(v) + 4}" text-anchor="end">{v:g}</text>')
            parts.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{Y(v)}" y2="{Y(v)}" stroke="#eee"/>')
        ref = 0 if k == 0 else 1
        parts.append(f'<line x1="{x0}" x2="{x0 + pw}" y1="{Y(ref)}" y2="{Y(ref)}" stroke="#444" stroke-dasharray="4 3"/>')
        for name, rows in results.items():
            base = rows[0]
            pts = [(X(r["shards"]), Y(f(r, base))) for r in rows]
            parts.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>' % (colors.get(name, "#2ca02c"),
                         " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)))
            for a, b in pts:
                parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{colors.get(name, "#2ca02c")}"/>')
    for i, name in enumerate(results):
        parts.append(f'<text x="{pad + i * 140}" y="{H - 10}" fill="{colors.get(name, "#2ca02c")}">■ {name}</text>')
    parts.append("</svg>")
    open(path, "w").write("\n".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="normal200k,mixture1m")
    ap.add_argument("--shards", default="1,2,4,8,16")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    results = {}
    for name in a.datasets.split(","):
        vectors, x, q = dataset(name)
        t = truth(np.asarray(x), q)
        rows = []
        for s in map(int, a.shards.split(",")):
            out = os.path.join(OUT, f"cluster-{name}-S{s}.bin")
            wall, cpu, meta = run(vectors, out, s, a.workers, a.threads)
            c = meta.get("cluster")
            r = dict(shards=s, wall=wall, cpu=cpu, recall64=recall_at(out, x.shape[1], q, t, 64), recall128=recall_at(out, x.shape[1], q, t, 128))
            if c:
                merge = c["merge_level_zero_seconds"] + c["merge_upper_seconds"] + c["merge_repair_seconds"]
                r.update(coordinator_cpu=c["coordinator_cpu_seconds"], boundary=c["boundary_elements"],
                         shard_cpu=sum(c["shard_build_seconds"]), refine_cpu=sum(c["refine_seconds"]), merge_wall=merge,
                         projected_wall=c["plan_seconds"] + max(c["shard_build_seconds"]) + max(c["refine_seconds"] or [0]) + merge)
            rows.append(r)
            base = rows[0]
            line = (f"{name} S={s:2d}: recall@10 ef64 {r['recall64']:.4f} ({100 * (r['recall64'] - base['recall64']):+.2f} pp), "
                    f"ef128 {r['recall128']:.4f} ({100 * (r['recall128'] - base['recall128']):+.2f} pp), "
                    f"CPU {r['cpu']:.1f} s ({r['cpu'] / base['cpu']:.2f}×), wall {r['wall']:.1f} s ({r['wall'] / base['wall']:.2f}×)")
            if c:
                line += (f", coordinator CPU {r['coordinator_cpu']:.1f} s ({100 * r['coordinator_cpu'] / base['cpu']:.1f}% of single), "
                         f"projected wall W=S {r['projected_wall']:.1f} s ({base['wall'] / r['projected_wall']:.2f}× speed-up), "
                         f"boundary {r['boundary']}")
            print(line, flush=True)
        results[name] = rows
        json.dump(rows, open(os.path.join(OUT, f"cluster-{name}.json"), "w"), indent=1)
    svg(results, os.path.join(OUT, "cluster.svg"))
    print(f"plot: {os.path.join(OUT, 'cluster.svg')}")


if __name__ == "__main__":
    main()
