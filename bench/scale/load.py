"""The load phase alone, repeated: is loading 10M items at most 10× the 1M time?

Runs `trainer vectorize` (the same catalog loader as `trainer train`) with the bundled configuration
on the synthetic catalogs of bench/scale/run.py, alternating sizes (small, large, small, large, …)
so that the machine's drift falls on both, and reads the load time each run prints. Prints every
run, the median load time per size, and the ratio of medians against the ratio of item counts.

usage: .venv/bin/python bench/scale/load.py [--items 1000000,10000000] [--repeats 5]
"""
import argparse, os, re, shutil, statistics, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import OUT, ROOT, TRAINER, catalog  # noqa: E402


def config(n):
    data = catalog(n)
    work = os.path.join(OUT, f"load-{n}")
    os.makedirs(work, exist_ok=True)
    text = open(os.path.join(ROOT, "config/trainer.yml")).read().replace("data/sample/", data + "/") \
        .replace("output_dir: models", f"output_dir: {work}/models").replace("log_dir: logs", f"log_dir: {work}/logs")
    path = os.path.join(work, "trainer.yml")
    open(path, "w").write(text)
    return path, os.path.join(work, "vectors")


def load_seconds(cfg, out):
    shutil.rmtree(out, ignore_errors=True)
    p = subprocess.run([TRAINER, "vectorize", "--config", cfg, "--out", out], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr[-2000:])
    m = re.search(r"\(load ([0-9.]+) s", p.stdout)
    if not m:
        sys.exit(f"no load time in: {p.stdout}")
    shutil.rmtree(out, ignore_errors=True)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", default="1000000,10000000")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    sizes = [int(x) for x in a.items.split(",")]
    configs = {n: config(n) for n in sizes}
    times = {n: [] for n in sizes}
    for r in range(a.repeats):
        for n in sizes:
            t = load_seconds(*configs[n])
            times[n].append(t)
            print(f"run {r + 1}: {n:>9} items  load {t:.2f} s", flush=True)
    med = {n: statistics.median(times[n]) for n in sizes}
    for n in sizes:
        print(f"{n:>9} items: median load {med[n]:.2f} s over {a.repeats} runs (min {min(times[n]):.2f}, max {max(times[n]):.2f})")
    small, large = sizes[0], sizes[-1]
    print(f"ratio of medians {large}/{small}: {med[large] / med[small]:.2f}× for {large / small:.0f}× the items")


if __name__ == "__main__":
    main()
