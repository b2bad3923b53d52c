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


# ---------------------------------------------------------------------------------------------
# The same recipe for any configuration: a fit on the joined catalog (what `vectorize` and a full
# `train` compute) and a transform with the fitted state (what `train --incremental` computes for
# new and changed items). `cfg` is the configuration as a dict in the YAML file's own shape.

from sklearn.preprocessing import MinMaxScaler, RobustScaler

DEFAULTS = {
    "seed": 42,
    "input": {"id_column": "item_id"},
    "features": {"numeric": [], "log_transform": [], "onehot": [], "target_encode": [], "target": None},
    "cleaning": {"numeric_missing": "median", "outliers": "iqr", "iqr_k": 1.5},
    "scaling": "standard",
    "onehot": {"min_frequency": None, "max_categories": None},
    "target_encoding": {"smooth": "auto", "cv": 5},
    "weighting": {"item_weight_column": None, "domain_column": None, "domain_weights": {}, "default_domain_weight": 1.0,
                  "sample_weight_fit": True, "scale_rows": False},
}


def effective(cfg):
    """The configuration with the trainer's defaults filled in."""
    out = {}
    for key, default in DEFAULTS.items():
        if isinstance(default, dict):
            out[key] = {**default, **(cfg.get(key) or {})}
        else:
            out[key] = cfg.get(key, default)
    return out


def joined_frame(features_path, metadata_path, id_column):
    """The catalog as the trainer sees it: the Parquet rows (in file order) left-joined with the
    JSON metadata on the id column. Ids are compared as text, as the trainer does."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pq.read_table(features_path)
    columns = {}
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_dictionary(col.type):  # polars' categoricals
            col = pa.chunked_array([c.dictionary_decode() for c in col.chunks], col.type.value_type)
        columns[name] = col.to_pandas()
    features = pd.DataFrame(columns)
    features[id_column] = features[id_column].map(_id_text)
    if metadata_path is None:
        return features
    text = open(metadata_path, encoding="utf-8-sig").read()
    stripped = text.lstrip()
    if stripped.startswith("["):
        records = json.loads(text)
    else:
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
    meta = pd.DataFrame.from_records(records)
    meta[id_column] = meta[id_column].map(_id_text)
    extra = [c for c in meta.columns if c not in features.columns]
    return features.merge(meta[[id_column] + extra], on=id_column, how="left")


def _id_text(v):
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def _numbers(col):
    return pd.to_numeric(col, errors="raise").astype(float).to_numpy()


def _categories(col):
    """A column as scikit-learn gets it: text as objects (missing = nan), numbers as floats."""
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return _numbers(col).reshape(-1, 1)
    values = [v if isinstance(v, str) else np.nan for v in col.astype(object)]
    return np.array(values, dtype=object).reshape(-1, 1)


def _scaler(kind):
    return {"standard": StandardScaler, "robust": RobustScaler, "minmax": MinMaxScaler}.get(kind)


class Reference:
    """The pandas + scikit-learn recipe of the README for one configuration."""

    def __init__(self, cfg):
        self.cfg = effective(cfg)

    def weights(self, df):
        w = self.cfg["weighting"]
        n = len(df)
        a = np.ones(n)
        if w["item_weight_column"]:
            v = _numbers(df[w["item_weight_column"]])
            if not hasattr(self, "weight_mean"):
                self.weight_mean = np.nanmean(v) if np.any(~np.isnan(v)) else np.nan
            if self.weight_mean > 0:
                a = np.where(np.isnan(v), 1.0, v / self.weight_mean)
        b = np.full(n, float(w["default_domain_weight"]))
        if w["domain_column"]:
            col = df[w["domain_column"]]
            for i, v in enumerate(col.astype(object)):
                if v is None or (isinstance(v, float) and np.isnan(v)):
                    continue
                key = _id_text(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)
                weights = {str(k): v for k, v in w["domain_weights"].items()}
                b[i] = float(weights.get(key, w["default_domain_weight"]))
        return np.where(a + b == 0, 0.0, 2 * a * b / np.where(a + b == 0, 1, a + b))

    def fit_transform(self, df):
        c, f = self.cfg, self.cfg["features"]
        w = self.weights(df)
        fit_w = w if c["weighting"]["sample_weight_fit"] else None
        self.numeric = []
        blocks = []
        for name in f["numeric"]:
            x = _numbers(df[name])
            if name in f["log_transform"]:
                x = np.log1p(x)
            present = x[~np.isnan(x)]
            fill = {"median": np.median(present), "mean": np.mean(present), "zero": 0.0}[c["cleaning"]["numeric_missing"]]
            fences = None
            if c["cleaning"]["outliers"] == "iqr":
                q1, q3 = np.percentile(present, [25, 75])
                k = float(c["cleaning"]["iqr_k"])
                fences = (q1 - k * (q3 - q1), q3 + k * (q3 - q1))
            self.numeric.append((name, fill, fences))
            blocks.append(self._clean(x, fill, fences))
        self.numeric_scaler = self._fit_scaler(blocks, fit_w)
        out = [self._scale(self.numeric_scaler, blocks, len(df))]
        self.onehot = []
        for name in f["onehot"]:
            enc = OneHotEncoder(handle_unknown="ignore", sparse_output=False, min_frequency=c["onehot"]["min_frequency"],
                                max_categories=c["onehot"]["max_categories"])
            out.append(enc.fit_transform(_categories(df[name])))
            self.onehot.append((name, enc))
        self.target_encoders = []
        if f["target_encode"]:
            y = _numbers(df[f["target"]])
            has = ~np.isnan(y)
            classes = np.unique(y[has])
            if len(classes) == 2:
                y = np.where(has, (y == classes[1]).astype(float), np.nan)
            smooth = c["target_encoding"]["smooth"]
            te = np.zeros((len(df), len(f["target_encode"])))
            for j, name in enumerate(f["target_encode"]):
                x = _categories(df[name])
                enc = TargetEncoder(target_type="continuous", smooth="auto" if smooth == "auto" else float(smooth),
                                    cv=KFold(int(c["target_encoding"]["cv"]), shuffle=True, random_state=int(c["seed"])))
                te[has, j] = enc.fit_transform(x[has], y[has])[:, 0]
                if (~has).any():
                    te[~has, j] = enc.transform(x[~has])[:, 0]
                self.target_encoders.append((name, enc))
            cols = [te[:, j] for j in range(te.shape[1])]
            self.te_scaler = self._fit_scaler(cols, fit_w)
            out.append(self._scale(self.te_scaler, cols, len(df)))
        return self._rows(out, w), w

    def transform(self, df):
        """New rows through the fitted state (full-fit target encodings, saved weight mean)."""
        w = self.weights(df)
        blocks = [self._clean(np.log1p(_numbers(df[name])) if name in self.cfg["features"]["log_transform"] else _numbers(df[name]),
                              fill, fences) for name, fill, fences in self.numeric]
        out = [self._scale(self.numeric_scaler, blocks, len(df))]
        out += [enc.transform(_categories(df[name])) for name, enc in self.onehot]
        if self.target_encoders:
            cols = [enc.transform(_categories(df[name]))[:, 0] for name, enc in self.target_encoders]
            out.append(self._scale(self.te_scaler, cols, len(df)))
        return self._rows(out, w), w

    def _rows(self, out, w):
        x = np.hstack(out)
        if self.cfg["weighting"]["scale_rows"]:
            x = x * w[:, None]
        return x.astype(np.float32)

    @staticmethod
    def _clean(x, fill, fences):
        x = np.where(np.isnan(x), fill, x)
        return np.clip(x, *fences) if fences else x

    def _fit_scaler(self, cols, fit_w):
        if not cols:
            return None
        kind = _scaler(self.cfg["scaling"])
        if kind is None:
            return None
        x = np.column_stack(cols)
        return kind().fit(x, sample_weight=fit_w) if kind is StandardScaler else kind().fit(x)

    def _scale(self, scaler, cols, n):
        if not cols:
            return np.empty((n, 0))
        x = np.column_stack(cols)
        return scaler.transform(x) if scaler is not None else x
