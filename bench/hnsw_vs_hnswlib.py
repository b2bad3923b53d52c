"""Index build and search, ours against hnswlib 0.8.0, side by side on the same data in one run.

Usage: .venv/bin/python bench/hnsw_vs_hnswlib.py [--datasets normal100k,mixture200k,normal1m]
       [--threads 1,2] [--repeats 3] [--M 32] [--ef-construction 200]
Prints per dataset and thread count: build seconds and ratio, recall@10 at each ef,
single-thread queries/s and ratio, peak RSS and ratio (medians over the repeats)."""
import argparse, json, os, statistics, subprocess, sys, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out")
EFS = "10,50,100,200"
DATASETS = {  # name: (rows, dim, mixture components; 0 = standard normal)
    "normal20k": (20_000, 64, 0),
    "normal100k": (100_000, 64, 0),
    "mixture200k": (200_000, 64, 100),
    "normal1m": (1_000_000, 64, 0),
}

def make_data(name, space, k=10, nq=1000):
    rows, dim, comps = DATASETS[name]
    paths = [os.path.join(OUT, f"{name}_{s}.npy") for s in ("base", "queries", f"truth_{space}")]
    if all(os.path.exists(p) for p in paths):
        return paths
    rng = np.random.default_rng(12345)
    def draw(n):
        if comps == 0:
            return rng.standard_normal((n, dim), dtype=np.float32)
        centres = np.random.default_rng(999).standard_normal((comps, dim)).astype(np.float32) * 4
        return centres[rng.integers(0, comps, n)] + rng.standard_normal((n, dim), dtype=np.float32)
    x, q = draw(rows), draw(nq)
    xs, qs = x, q
    if space in ("cosine",):
        xs = x / np.linalg.norm(x, axis=1, keepdims=True)
        qs = q / np.linalg.norm(q, axis=1, keepdims=True)
    truth = np.zeros((nq, k), dtype=np.int64)
    for s in range(0, nq, 100):
        if space == "l2":
            d = (qs[s:s+100] ** 2).sum(1)[:, None] - 2 * qs[s:s+100] @ xs.T + (xs ** 2).sum(1)[None, :]
        else:
            d = -(qs[s:s+100] @ xs.T)
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.take_along_axis(d, part, 1).argsort(1)
        truth[s:s+100] = np.take_along_axis(part, order, 1)
    for p, a in zip(paths, (x, q, truth)):
        np.save(p, a)
    return paths

def run_ours(base, queries, truth, space, m, efc, threads):
    index = os.path.join(OUT, "ours.bin")
    out = subprocess.run([TRAINER, "build-index", "--vectors", base, "--out", index, "--space", space, "-M", str(m),
                          "--ef-construction", str(efc), "--threads", str(threads), "--json"],
                         check=True, capture_output=True, text=True).stdout
    built = json.loads(out)
    ev = subprocess.run([TRAINER, "eval", "--index", index, "--space", space, "--vectors", base, "--queries", queries,
                         "-k", "10", "--ef", EFS, "--json", "--threads", "2"],
                        check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in ev.splitlines() if line.strip()]
    return {"build_s": built["build_s"], "eval": rows, "peak_rss": built["peak_rss"]}

def run_hnswlib(base, queries, truth, space, m, efc, threads):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench/hnswlib_side.py"), base, queries, truth, space,
                          str(m), str(efc), str(threads), EFS], check=True, capture_output=True, text=True).stdout
    return json.loads(out)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="normal100k,mixture200k,normal1m")
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--space", default="cosine")
    ap.add_argument("--M", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=200)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    print(f"# trainer {TRAINER}; space {a.space}, M {a.M}, ef_construction {a.ef_construction}; medians of {a.repeats}")
    for name in a.datasets.split(","):
        base, queries, truth = make_data(name, a.space)
        for t in [int(x) for x in a.threads.split(",")]:
            ours, theirs = [], []
            for _ in range(a.repeats):  # alternate so drift on a shared machine hits both alike
                ours.append(run_ours(base, queries, truth, a.space, a.M, a.ef_construction, t))
                theirs.append(run_hnswlib(base, queries, truth, a.space, a.M, a.ef_construction, t))
            med = lambda runs, f: statistics.median(f(r) for r in runs)
            ob, tb = med(ours, lambda r: r["build_s"]), med(theirs, lambda r: r["build_s"])
            orss, trss = med(ours, lambda r: r["peak_rss"]), med(theirs, lambda r: r["peak_rss"])
            print(f"\n## {name} ({DATASETS[name][0]} x {DATASETS[name][1]}), {t} thread(s)")
            print(f"build s: ours {ob:.2f}, hnswlib {tb:.2f}, throughput ratio {tb / ob:.2f}x")
            print(f"peak RSS MiB: ours {orss / 2**20:.0f}, hnswlib {trss / 2**20:.0f}, ratio {orss / trss:.2f}")
            print("ef\trecall ours\trecall hnswlib\tdiff\tqps ours\tqps hnswlib\tqps ratio")
            for i, ef in enumerate(EFS.split(",")):
                orc = med(ours, lambda r: r["eval"][i]["recall"]); trc = med(theirs, lambda r: r["eval"][i]["recall"])
                oq = med(ours, lambda r: r["eval"][i]["qps"]); tq = med(theirs, lambda r: r["eval"][i]["qps"])
                print(f"{ef}\t{orc:.4f}\t{trc:.4f}\t{orc - trc:+.4f}\t{oq:.0f}\t{tq:.0f}\t{oq / tq:.2f}")
            sys.stdout.flush()

if __name__ == "__main__":
    main()
