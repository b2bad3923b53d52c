"""Reading a 1M-row x 12-column Parquet file into memory: ours against pyarrow, in one run.

Usage: .venv/bin/python bench/parquet_read.py [--rows 1000000] [--repeats 5]
The file is written twice, by pandas with its defaults and by polars with its defaults. For each,
prints our median read time (alternating rounds), pyarrow.parquet.read_table with use_threads=False and with threads,
and the ratios (ours / pyarrow; below 1.0 means we are faster)."""
import argparse, json, os, statistics, subprocess, time
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAINER = os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))
OUT = os.path.join(ROOT, "bench/out")


def make_frame(n):
    import pandas as pd
    rng = np.random.default_rng(1)
    def with_nulls(x, p=0.05):
        x = x.astype(float)
        x[rng.random(n) < p] = np.nan
        return x
    return pd.DataFrame({
        "item_id": [f"ITM{i:08d}" for i in range(n)],
        "process": rng.choice(["casting", "forging", "machining", "stamping", "welding", "molding"], n),
        "material": rng.choice([f"mat-{i}" for i in range(40)], n),
        "supplier": rng.choice([f"supplier-{i:04d}" for i in range(800)], n),
        "region": rng.choice(["EU", "NA", "APAC", "LATAM", "MEA"], n),
        "lead_time_days": pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(1, 120, n)), dtype="Int64"),
        "unit_cost": with_nulls(rng.lognormal(3, 1, n)),
        "production_volume": with_nulls(rng.lognormal(8, 2, n)),
        "defect_rate": with_nulls(rng.beta(1, 30, n)),
        "weight_kg": with_nulls(rng.gamma(2, 3, n)),
        "batch_size": pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(1, 10_000, n)), dtype="Int64"),
        "updated_at": pd.to_datetime(rng.integers(1_600_000_000, 1_700_000_000, n), unit="s"),
    })


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    import polars as pl
    import pyarrow.parquet as pq
    os.makedirs(OUT, exist_ok=True)
    df = make_frame(a.rows)
    files = {"pandas": os.path.join(OUT, "catalog_pandas.parquet"), "polars": os.path.join(OUT, "catalog_polars.parquet")}
    df.to_parquet(files["pandas"])
    pl.from_pandas(df).write_parquet(files["polars"])
    print(f"# {a.rows} rows x 12 columns; medians of {a.repeats} alternating rounds of 3 reads; trainer {TRAINER}")
    print("writer\tours s\tpyarrow 1 thread s\tpyarrow threads s\tours/pyarrow-1t\tours/pyarrow-mt")
    for name, path in files.items():
        ours, single, multi = [], [], []
        for _ in range(a.repeats):  # rounds alternate the readers so machine noise hits both
            out = subprocess.run([TRAINER, "parquet", "bench", path, "--repeats", "3", "--json"],
                                 check=True, capture_output=True, text=True).stdout
            ours.append(json.loads(out)["median_s"])
            single.append(median_time(lambda: pq.read_table(path, use_threads=False), 3))
            multi.append(median_time(lambda: pq.read_table(path, use_threads=True), 3))
        o, s1, sm = (statistics.median(x) for x in (ours, single, multi))
        print(f"{name}\t{o:.3f}\t{s1:.3f}\t{sm:.3f}\t{o / s1:.2f}\t{o / sm:.2f}")


if __name__ == "__main__":
    main()
