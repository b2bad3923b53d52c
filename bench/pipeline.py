"""The feature pipeline on a 1M-item catalog: `trainer vectorize` against the pandas + scikit-learn
recipe, on the same files, in one run. Prints wall time and peak RSS of each, and the ratio.

Usage: .venv/bin/python bench/pipeline.py [--items 1000000]"""
import argparse, os, resource, subprocess, sys, time
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "Tests/interop"))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out/pipeline")

RECIPE = r'''
import sys, time, resource, numpy as np, pandas as pd
sys.path.insert(0, "{interop}")
from pipeline_reference import reference
t0 = time.perf_counter()
features = pd.read_parquet("{out}/features.parquet")
meta = pd.read_json("{out}/item_metadata.json", lines=True)
X, w = reference(features, meta)
np.save("{out}/reference.npy", X)
print(time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
'''


def make(n):
    rng = np.random.default_rng(3)
    ids = [f"ITM{i:08d}" for i in range(n)]
    def holes(x, p=0.05):
        x = x.astype(float)
        x[rng.random(n) < p] = np.nan
        return x
    supplier = np.array([f"sup-{i:05d}" for i in range(10_000)])[np.minimum(rng.zipf(1.3, n) - 1, 9_999)].astype(object)
    supplier[rng.random(n) < 0.02] = None
    df = pd.DataFrame({
        "item_id": ids,
        "lead_time_days": holes(rng.integers(1, 90, n)),
        "unit_cost": holes(rng.lognormal(3, 1.5, n)),
        "production_volume": holes(rng.lognormal(7, 2, n)),
        "constant": np.full(n, 3.0),
        "process": rng.choice(["casting", "forging", "machining", "welding", "stamping"], n),
        "material": rng.choice([f"mat-{i}" for i in range(30)], n),
        "supplier": supplier,
        "region": rng.choice(["EU", "NA", "APAC", "LATAM"], n),
        "defect_rate": holes(rng.beta(1, 20, n), 0.1),
        "weight_kg": holes(rng.gamma(2, 3, n)),
        "batch_size": holes(rng.integers(1, 10_000, n)),
    })
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), f"{OUT}/features.parquet")
    pd.DataFrame({"item_id": ids, "name": [f"Item {i}" for i in range(n)],
                  "industry": rng.choice(["automotive", "electronics", "medical"], n)}).to_json(
        f"{OUT}/item_metadata.json", orient="records", lines=True)
    from pipeline_reference import CONFIG
    with open(f"{OUT}/trainer.yml", "w") as f:
        f.write(CONFIG.format(folder=OUT, seed=42, min_frequency="null", max_categories="null"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=1_000_000)
    a = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    make(a.items)
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "%M", TRAINER, "vectorize", "--config", f"{OUT}/trainer.yml"],
                       check=True, capture_output=True, text=True)
    ours = time.perf_counter() - t0
    ours_rss = int(p.stderr.strip().splitlines()[-1]) * 1024
    out = subprocess.run([sys.executable, "-c", RECIPE.format(interop=os.path.join(ROOT, "Tests/interop"), out=OUT)],
                         check=True, capture_output=True, text=True).stdout.split()
    theirs, theirs_rss = float(out[0]), int(out[1])
    diff = np.max(np.abs(np.load(f"{OUT}/models/vectors.npy") - np.load(f"{OUT}/reference.npy")))
    print(f"# {a.items} items, 12 columns (a 10k-category column), 2 cores; max abs difference {diff:.2e}")
    print("tool\twall s\tpeak RSS MiB")
    print(f"trainer vectorize\t{ours:.2f}\t{ours_rss / 2**20:.0f}")
    print(f"pandas + scikit-learn\t{theirs:.2f}\t{theirs_rss / 2**20:.0f}")
    print(f"time ratio (ours / recipe)\t{ours / theirs:.2f}")


if __name__ == "__main__":
    main()
