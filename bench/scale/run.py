"""`trainer train` end to end with the bundled configuration at several catalog sizes.

For each size N it makes a synthetic catalog (`trainer synth --items N --seed 42`, kept in bench/out/scale/),
runs `trainer train` with config/trainer.yml pointed at it, and reports
  per phase (load, pipeline, index, write, and any other phase the log names): wall seconds and CPU
  seconds of the whole process tree (the trainer and any worker processes it starts);
  the peak RSS of every process, and their sum;
  recall@10 at ef 100 of the written index, through hnswlib 0.8.0, for 1,000 sampled items against
  exact search over every vector (vectors.npy, cosine);
then the growth exponent of each phase's wall time between consecutive sizes (1.0 is linear) and a
log-log plot. Writes bench/out/scale.json and bench/out/scale.svg (scale-TAG.* with --tag TAG).

--set KEY=VALUE (repeatable) changes one line of the configuration, for example
`--set mode=local --set ef_construction=20 --tag local` measures the coordinator and workers of a
local-mode build (memory does not depend on ef_construction, so a smaller one measures it sooner).

usage: .venv/bin/python bench/scale/run.py [--items 1000000,3000000,10000000] [--config config/trainer.yml]
       [--set KEY=VALUE ...] [--tag TAG]
"""
import argparse, json, math, os, subprocess, sys, time
import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out/scale")
TICK = os.sysconf("SC_CLK_TCK")


def tree(root):
    """The pids of `root` and its descendants."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                fields = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(d))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK  # utime + stime
    except (FileNotFoundError, ProcessLookupError):
        return None


def peak_rss(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def catalog(n):
    folder = os.path.join(OUT, f"data-{n}")
    if not os.path.exists(os.path.join(folder, "item_metadata.json")):
        subprocess.run([TRAINER, "synth", "--items", str(n), "--seed", "42", "--out", folder], check=True, capture_output=True)
    return folder


def run(n, config, settings=(), tag=""):
    data = catalog(n)
    work = os.path.join(OUT, f"run-{n}{tag}")
    os.makedirs(work, exist_ok=True)
    text = open(config).read().replace("data/sample/", data + "/") \
        .replace("output_dir: models", f"output_dir: {work}/models").replace("log_dir: logs", f"log_dir: {work}/logs")
    for setting in settings:
        key, value = setting.split("=", 1)
        lines = text.split("\n")
        hits = [i for i, line in enumerate(lines) if line.lstrip().startswith(key + ":")]
        if len(hits) != 1:
            sys.exit(f"--set {setting}: the configuration has {len(hits)} lines for '{key}', not one")
        line = lines[hits[0]]
        lines[hits[0]] = line[:len(line) - len(line.lstrip())] + f"{key}: {value}"
        text = "\n".join(lines)
    cfg = os.path.join(work, "trainer.yml")
    open(cfg, "w").write(text)
    log_path = os.path.join(work, "stderr.log")
    log = open(log_path, "w")
    t0 = time.time()
    p = subprocess.Popen([TRAINER, "train", "--config", cfg], stdout=subprocess.DEVNULL, stderr=log)
    # CPU of each process, remembered while it lives (a worker's CPU counts after it exits too).
    cpu, rss, names = {}, {}, {}
    phases, seen, last = [], 0, (t0, 0.0)

    def total_cpu():
        return sum(cpu.values())

    while True:
        done = p.poll() is not None
        for pid in tree(p.pid):
            c = cpu_seconds(pid)
            if c is not None:
                cpu[pid] = c
            r = peak_rss(pid)
            if r is not None:
                rss[pid] = max(rss.get(pid, 0), r)
                if pid not in names:
                    try:
                        names[pid] = "trainer" if pid == p.pid else open(f"/proc/{pid}/cmdline").read().split("\0")[1]
                    except (FileNotFoundError, IndexError):
                        names[pid] = "?"
        lines = open(log_path).read().splitlines()
        for line in lines[seen:]:
            if "phase done" in line:
                name = line.split("phase=")[1].split()[0]
                now = time.time()
                phases.append({"phase": name, "wall_s": float(line.split("seconds=")[1].split()[0]),
                               "cpu_s": round(total_cpu() - last[1], 2)})
                last = (now, total_cpu())
        seen = len(lines)
        if done:
            break
        time.sleep(0.1)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit(f"trainer train failed at {n} items:\n" + open(log_path).read()[-3000:])
    return {"items": n, "wall_s": round(wall, 1), "cpu_s": round(total_cpu(), 1), "phases": phases,
            "peak_rss": {f"{names.get(pid, '?')}-{pid}": r for pid, r in rss.items()},
            "peak_rss_sum": sum(rss.values()), "index_bytes": os.path.getsize(os.path.join(work, "models/hnsw_index.bin")),
            "recall_at_10_ef100": recall(os.path.join(work, "models"))}


def recall(models, queries=1000, ef=100, k=10):
    import hnswlib
    x = np.load(os.path.join(models, "vectors.npy"), mmap_mode="r")
    n, d = x.shape
    rows = np.random.default_rng(7).choice(n, queries, replace=False)
    q = np.asarray(x[rows], dtype=np.float32)
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    best_s = np.full((queries, k), -np.inf, dtype=np.float32)
    best_i = np.zeros((queries, k), dtype=np.int64)
    for start in range(0, n, 200_000):
        block = np.asarray(x[start:start + 200_000], dtype=np.float32)
        block = block / np.linalg.norm(block, axis=1, keepdims=True)
        s = qn @ block.T
        top = np.argpartition(-s, k, axis=1)[:, :k]
        s_all = np.concatenate([best_s, np.take_along_axis(s, top, 1)], axis=1)
        i_all = np.concatenate([best_i, top + start], axis=1)
        keep = np.argsort(-s_all, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(s_all, keep, 1), np.take_along_axis(i_all, keep, 1)
    index = hnswlib.Index(space="cosine", dim=d)
    index.load_index(os.path.join(models, "hnsw_index.bin"))
    index.set_ef(ef)
    got, _ = index.knn_query(q, k=k, num_threads=1)
    return round(float(np.mean([len(set(a) & set(b)) / k for a, b in zip(got, best_i)])), 4)


def exponents(results):
    """Growth exponent of each phase's wall time between consecutive sizes: log(t2/t1) / log(n2/n1)."""
    out = {}
    for a, b in zip(results, results[1:]):
        ta = {p["phase"]: p["wall_s"] for p in a["phases"]}
        tb = {p["phase"]: p["wall_s"] for p in b["phases"]}
        key = f"{a['items']}->{b['items']}"
        out[key] = {ph: round(math.log(tb[ph] / ta[ph]) / math.log(b["items"] / a["items"]), 2)
                    for ph in ta if ph in tb and ta[ph] > 0 and tb[ph] > 0}
        out[key]["total"] = round(math.log(b["wall_s"] / a["wall_s"]) / math.log(b["items"] / a["items"]), 2)
    return out


def svg(results, path, settings=()):
    """Wall seconds of each phase against items, both on log scales."""
    W, H, L, B = 640, 400, 70, 50
    phases = sorted({p["phase"] for r in results for p in r["phases"]})
    colours = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]
    xs = [math.log10(r["items"]) for r in results]
    ys = [math.log10(max(p["wall_s"], 1e-2)) for r in results for p in r["phases"]] + [math.log10(r["wall_s"]) for r in results]
    x0, x1 = min(xs) - 0.1, max(xs) + 0.1
    y0, y1 = math.floor(min(ys)), math.ceil(max(ys))

    def px(x, y):
        return L + (x - x0) / (x1 - x0) * (W - L - 20), H - B - (y - y0) / (y1 - y0) * (H - B - 20)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>']
    for e in range(y0, y1 + 1):
        _, y = px(x0, e)
        parts.append(f'<line x1="{L}" y1="{y:.1f}" x2="{W - 20}" y2="{y:.1f}" stroke="#ddd"/><text x="{L - 8}" y="{y + 4:.1f}" text-anchor="end">{10 ** e:g} s</text>')
    for r in results:
        x, _ = px(math.log10(r["items"]), y0)
        parts.append(f'<text x="{x:.1f}" y="{H - B + 18}" text-anchor="middle">{r["items"] / 1e6:g}M</text>')
    series = [(ph, [(r["items"], next((p["wall_s"] for p in r["phases"] if p["phase"] == ph), None)) for r in results]) for ph in phases]
    series.append(("total", [(r["items"], r["wall_s"]) for r in results]))
    for k, (name, pts) in enumerate(series):
        c = colours[k % len(colours)] if name != "total" else "black"
        coords = [px(math.log10(n), math.log10(max(t, 1e-2))) for n, t in pts if t]
        parts.append(f'<polyline fill="none" stroke="{c}" stroke-width="2" points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in coords)}"/>')
        parts.append(f'<text x="{W - 150}" y="{30 + 16 * k}" fill="{c}">{name}</text>')
    parts.append(f'<text x="{L}" y="14">trainer train, bundled configuration{"".join(", " + x for x in settings)}: wall seconds per phase against items (log-log)</text></svg>')
    open(path, "w").write("\n".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", default="1000000,3000000,10000000")
    ap.add_argument("--config", default=os.path.join(ROOT, "config/trainer.yml"))
    ap.add_argument("--set", action="append", default=[], help="KEY=VALUE: replace the configuration's one line for KEY")
    ap.add_argument("--tag", default="", help="suffix of the run folders and output files")
    a = ap.parse_args()
    tag = f"-{a.tag}" if a.tag else ""
    os.makedirs(OUT, exist_ok=True)
    results = []
    for n in map(int, a.items.split(",")):
        r = run(n, a.config, a.set, tag)
        results.append(r)
        print(json.dumps(r), flush=True)
    report = {"results": results, "exponents": exponents(results), "cores": os.cpu_count()}
    json.dump(report, open(os.path.join(ROOT, f"bench/out/scale{tag}.json"), "w"), indent=1)
    svg(results, os.path.join(ROOT, f"bench/out/scale{tag}.svg"), a.set)
    print(f"{'items':>10} {'wall s':>8} {'CPU s':>8} {'peak GiB':>9} {'index GiB':>9} {'recall':>7}  phases (wall s / CPU s)")
    for r in results:
        ph = ", ".join(f"{p['phase']} {p['wall_s']:.1f}/{p['cpu_s']:.1f}" for p in r["phases"])
        print(f"{r['items']:>10} {r['wall_s']:>8.1f} {r['cpu_s']:>8.1f} {r['peak_rss_sum'] / 2**30:>9.2f} {r['index_bytes'] / 2**30:>9.2f} "
              f"{r['recall_at_10_ef100']:>7.4f}  {ph}")
    print("growth exponents (wall):", json.dumps(report["exponents"]))


if __name__ == "__main__":
    main()
