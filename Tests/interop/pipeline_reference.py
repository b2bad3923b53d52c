"""The reference recipe of docs (pandas + scikit-learn 1.9) and a generator of test catalogs."""
import json
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.model_selection import KFold
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder


def make_catalog(folder, n=2000, seed=0, binary=False, jsonl=False, dictionary=True):
    rng = np.random.default_rng(seed)
    ids = [f"ITM{i:06d}" for i in range(n)]
    def holes(x, p):
        x = x.astype(float)
        x[rng.random(n) < p] = np.nan
        return x
    suppliers = np.array([f"sup-{i:03d}" for i in range(120)])
    supplier = suppliers[np.minimum(rng.zipf(1.6, n) - 1, 119)].astype(object)
    supplier[rng.random(n) < 0.05] = None
    process = rng.choice(["casting", "forging", "machining", "welding", "rare-op"], n, p=[0.4, 0.3, 0.2, 0.099, 0.001]).astype(object)
    process[rng.random(n) < 0.03] = None
    material = rng.choice(["steel", "alu", "Äluminium", "titan", "zinc"], n).astype(object)
    target = rng.integers(0, 2, n).astype(float) if binary else rng.beta(1, 20, n)
    target[rng.random(n) < 0.1] = np.nan
    features = pd.DataFrame({
        "item_id": ids,
        "lead_time_days": holes(rng.integers(1, 90, n), 0.05),
        "unit_cost": holes(rng.lognormal(3, 1.5, n), 0.08),
        "production_volume": holes(rng.lognormal(7, 2, n), 0.05),
        "constant": np.full(n, 3.0),
        "process": process, "material": material, "supplier": supplier,
        "region": rng.choice(["EU", "NA", "APAC"], n),
        "defect_rate": target,
    })
    pq.write_table(pa.Table.from_pandas(features, preserve_index=False), folder / "features.parquet", use_dictionary=dictionary)
    meta = [{"item_id": i, "name": f"Item {k}", "industry": str(rng.choice(["automotive", "electronics", "medical"]))}
            for k, i in enumerate(ids)]
    meta.append({"item_id": "NOT-IN-FEATURES", "name": "orphan", "industry": "automotive"})
    with open(folder / "item_metadata.json", "w") as f:
        if jsonl:
            f.write("\n".join(json.dumps(m) for m in meta))
        else:
            json.dump(meta, f)
    return features, pd.DataFrame(meta)


CONFIG = """seed: {seed}
model_version: "2.0.0"
input:
  features: {folder}/features.parquet
  item_metadata: {folder}/item_metadata.json
  id_column: item_id
features:
  numeric: [lead_time_days, unit_cost, production_volume, constant]
  log_transform: [unit_cost, production_volume]
  onehot: [process, material]
  target_encode: [supplier, region]
  target: defect_rate
cleaning: {{numeric_missing: median, outliers: iqr, iqr_k: 1.5}}
scaling: standard
onehot: {{min_frequency: {min_frequency}, max_categories: {max_categories}}}
target_encoding: {{smooth: auto, cv: 5}}
weighting:
  item_weight_column: production_volume
  domain_column: industry
  domain_weights: {{automotive: 1.5, electronics: 1.0}}
  default_domain_weight: 0.8
index: {{space: cosine, M: 16, ef_construction: 100}}
export:
  output_dir: {folder}/models
"""


def reference(features, meta, seed=42, min_frequency=None, max_categories=None):
    df = features.merge(meta, on="item_id", how="left")
    v = df["production_volume"]
    a = (v / v.mean()).fillna(1.0).to_numpy()
    b = df["industry"].map({"automotive": 1.5, "electronics": 1.0}).fillna(0.8).to_numpy()
    w = np.where(a + b == 0, 0.0, 2 * a * b / np.where(a + b == 0, 1, a + b))
    cols = []
    for c in ["lead_time_days", "unit_cost", "production_volume", "constant"]:
        x = df[c].astype(float)
        if c in ("unit_cost", "production_volume"):
            x = np.log1p(x)
        med = np.nanmedian(x)
        q1, q3 = np.nanpercentile(x, [25, 75])
        x = x.fillna(med).clip(q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
        cols.append(x.to_numpy())
    num = StandardScaler().fit_transform(np.column_stack(cols), sample_weight=w)
    oh_in = df[["process", "material"]].astype(object).where(df[["process", "material"]].notna(), np.nan)
    oh = OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=min_frequency,
                       max_categories=max_categories).fit_transform(oh_in)
    te_in = df[["supplier", "region"]].astype(object).where(df[["supplier", "region"]].notna(), np.nan)
    y = df["defect_rate"]
    has = y.notna().to_numpy()
    enc = TargetEncoder(target_type="continuous", smooth="auto", cv=KFold(5, shuffle=True, random_state=seed))
    te = np.zeros((len(df), 2))
    te[has] = enc.fit_transform(te_in[has], y[has])
    te[~has] = enc.transform(te_in[~has])
    te = StandardScaler().fit_transform(te, sample_weight=w)
    return np.hstack([num, oh, te]).astype(np.float32), w
