"""How fast hnswlib 0.8.0 serves our index files against its own, side by side on the same data.

For each dataset it builds three files with the same parameters (cosine, M, efC, 2 threads):
hnswlib's own (`add_items`, random_seed 100), ours numbered as built (`build-index --layout build`)
and ours as the trainer writes it (`--layout bfs`, the default). Then, in interleaved repeats, each file
is served by a fresh hnswlib process pinned to one core (`set_num_threads(1)`, one untimed warm-up
pass) that runs whole query batches at each ef for at least a second and reports queries per second
on its thread's CPU clock and recall@10. Printed: the recall and QPS curves (medians), QPS at
recall 0.9 and 0.95 (interpolated in log QPS between the bracketing ef), and per-repeat ratios
against hnswlib's file and bfs against build (median, min–max). It also checks that hnswlib returns
the same labels and distances from the build and bfs files. Writes bench/out/serve-<dataset>.json and
bench/out/serve.svg.

usage: .venv/bin/python bench/serve/run.py [--datasets normal100k,mixture1m] [--repeats 5] [--M 32] [--plot-only]
"""
import argparse, json, os, subprocess, sys, time
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from serving import exact_top10, qps_at, recall_qps_svg, serve, spread  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out")
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
TARGETS = (0.9, 0.95)
NQ = 2000


def dataset(name):
    base, qpath, tpath = (os.path.join(OUT, f"serve-{name}-{s}.npy") for s in ("base", "queries", "truth"))
    if not all(os.path.exists(p) for p in (base, qpath, tpath)):
        if name == "normal100k":
            x = np.random.default_rng(1).standard_normal((100_000, 64), dtype=np.float32)
            q = np.random.default_rng(2).standard_normal((NQ, 64), dtype=np.float32)
        elif name == "mixture1m":
            rng = np.random.default_rng(3)
            centres = rng.standard_normal((100, 64), dtype=np.float32) * 1.5
            x = (centres[rng.integers(0, 100, 1_000_000)] + rng.standard_normal((1_000_000, 64), dtype=np.float32))
            r = np.random.default_rng(4)
            q = x[r.choice(len(x), NQ, replace=False)] + 0.5 * r.standard_normal((NQ, 64), dtype=np.float32)
            x, q = x.astype(np.float32), q.astype(np.float32)
        else:
            raise SystemExit(f"unknown dataset {name}")
        best = exact_top10(x, q)
        np.save(base, x)
        np.save(qpath, q)
        np.save(tpath, best)
    return base, qpath, tpath


def build(name, base, m, efc):
    files = {f: os.path.join(OUT, f"serve-{name}-M{m}-{f}.bin") for f in ("hnswlib", "build", "bfs")}
    if not os.path.exists(files["hnswlib"]):
        import hnswlib
        x = np.load(base)
        h = hnswlib.Index(space="cosine", dim=x.shape[1])
        h.init_index(max_elements=len(x), M=m, ef_construction=efc, random_seed=100)
        h.set_num_threads(2)
        t0 = time.time()
        h.add_items(x, np.arange(len(x)))
        print(f"{name}: hnswlib built in {time.time() - t0:.1f} s", flush=True)
        h.save_index(files["hnswlib"])
    for layout in ("build", "bfs"):
        if not os.path.exists(files[layout]):
            out = subprocess.run([TRAINER, "build-index", "--vectors", base, "--out", files[layout], "--space", "cosine",
                                  "-M", str(m), "--ef-construction", str(efc), "--threads", "2", "--layout", layout,
                                  "--json"], check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{name}: ours ({layout}) built in {r['build_s']:.1f} s, saved in {r['save_s']:.2f} s", flush=True)
    return files


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="normal100k,mixture1m")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--M", type=int, default=32)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--plot-only", action="store_true", help="redraw bench/out/serve.svg from the saved JSON")
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    report = {}
    if a.plot_only:
        for name in a.datasets.split(","):
            with open(os.path.join(OUT, f"serve-{name}.json")) as fh:
                report[name] = json.load(fh)
        plot(report, os.path.join(OUT, "serve.svg"))
        return
    for name in a.datasets.split(","):
        base, qpath, tpath = dataset(name)
        files = build(name, base, a.M, a.ef_construction)
        assert same_answers(files["build"], files["bfs"], qpath), "hnswlib answers differ between the build and bfs files"
        print(f"{name}: hnswlib returns identical labels and distances from the build and bfs files")
        runs = {f: [] for f in files}
        order = list(files)
        for r in range(a.repeats):
            for f in order[r % 3:] + order[:r % 3]:
                runs[f].append(serve(files[f], qpath, tpath, EFS))
            print(f"{name}: repeat {r + 1}/{a.repeats} done", flush=True)
        print(f"\n{name}, M {a.M}, efC {a.ef_construction}: recall@10 / single-thread QPS (median of {a.repeats})")
        print("ef    " + "  ".join(f"{f:>16}" for f in files))
        for i, ef in enumerate(EFS):
            cells = []
            for f in files:
                rec = runs[f][0][i]["recall"]
                qps = np.median([rep[i]["qps"] for rep in runs[f]])
                cells.append(f"{rec:.4f} / {qps:7.0f}")
            print(f"{ef:<5} " + "  ".join(f"{c:>16}" for c in cells))
        summary = {}
        for t in TARGETS:
            at = {f: [qps_at(rep, t) for rep in runs[f]] for f in files}
            ratio = lambda x, y: [u / v if u and v else None for u, v in zip(at[x], at[y])]
            summary[t] = {"qps": {f: spread(at[f]) for f in files},
                          "build/hnswlib": spread(ratio("build", "hnswlib")), "bfs/hnswlib": spread(ratio("bfs", "hnswlib")),
                          "bfs/build": spread(ratio("bfs", "build"))}
            print(f"recall {t}: QPS " + ", ".join(f"{f} {summary[t]['qps'][f]}" for f in files))
            print(f"  ratios (median, min–max of per-repeat): build/hnswlib {summary[t]['build/hnswlib']}, "
                  f"bfs/hnswlib {summary[t]['bfs/hnswlib']}, bfs/build {summary[t]['bfs/build']}")
        report[name] = {"M": a.M, "efc": a.ef_construction, "runs": runs, "summary": summary}
        with open(os.path.join(OUT, f"serve-{name}.json"), "w") as fh:
            json.dump(report[name], fh)
    plot(report, os.path.join(OUT, "serve.svg"))


def plot(report, path):
    """Recall@10 against single-thread QPS (log scale), one panel per dataset."""
    colours = {"hnswlib": "#888888", "build": "#1f77b4", "bfs": "#d62728"}
    labels = {"hnswlib": "hnswlib's own file", "build": "ours, build order", "bfs": "ours, as written (bfs)"}
    panels = []
    for name, r in report.items():
        curves = {}
        for f, runs in r["runs"].items():
            rec = [e["recall"] for e in runs[0]]
            qps = [float(np.median([rep[i]["qps"] for rep in runs])) for i in range(len(rec))]
            curves[labels.get(f, f)] = (colours.get(f, "black"), list(zip(rec, qps)))
        panels.append((f"{name}, M {r['M']}, efC {r['efc']}", curves))
    recall_qps_svg(panels, path)


if __name__ == "__main__":
    main()
