"""The trainer on real public tables (real_tables.py), each written by pandas, pyarrow and polars:
`vectorize` against the scikit-learn recipe, `train` then `train --incremental` against the same
recipe and hnswlib 0.8.0, and the input edge cases of issue 12 on real data."""
import json
import math

import hnswlib
import numpy as np
import pandas as pd
import pytest

from conftest import trainer
from pipeline_reference import Reference, joined_frame
from real_tables import (BY_NAME, TABLES, WRITERS, full_config, incremental_edit, subsample, with_changes, write_stage1,
                         yaml_text)

TOL = 1e-5


def stage(folder, table, cfg, writer, df=None):
    """Writes the table and its config into `folder`; returns the effective config dict."""
    df = table.load() if df is None else df
    write_stage1(table, df, folder, writer)
    full = full_config(table, cfg, folder)
    (folder / "trainer.yml").write_text(yaml_text(full) + "\n")
    return full


def reference(folder, full):
    frame = joined_frame(folder / "features.parquet", folder / "item_metadata.json", full["input"]["id_column"])
    ref = Reference(full)
    x, w = ref.fit_transform(frame)
    return ref, frame, x, w


def labels_of(folder):
    return [line.split("\t", 1)[1] for line in (folder / "labels.tsv").read_text().splitlines()]


def assert_close(ours, want, what):
    assert ours.shape == want.shape, (what, ours.shape, want.shape)
    diff = np.abs(ours.astype(np.float64) - want.astype(np.float64))
    worst = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else None
    assert diff.size == 0 or diff.max() <= TOL, f"{what}: max |diff| {diff.max():.3g} at {worst}"


def check_vectorize(folder, full):
    ref, frame, want, w = reference(folder, full)
    trainer("vectorize", "--config", folder / "trainer.yml")
    m = folder / "models"
    assert labels_of(m) == frame[full["input"]["id_column"]].tolist()
    assert_close(np.load(m / "vectors.npy"), want, "vectors")
    np.testing.assert_allclose(np.load(m / "item_weights.npy")[:, 0], w, rtol=1e-6, atol=1e-7)
    return want


def _cell(v):
    """A metadata.tsv cell: missing as <missing>, whole numbers without a fraction, text without tabs."""
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "<missing>"
    if isinstance(v, (float, np.floating)):
        return str(int(v)) if v == int(v) and abs(v) < 1e15 else repr(float(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    text = "".join(" " if ch in "\t\n\r" else ch for ch in str(v))
    return text if text.strip() else "<empty>"


def check_projector(folder, frame, full, vectors, weights, rel=1e-12):
    """tb_projector/ holds the model's vectors and, per row, the metadata columns and the item weight."""
    tb = folder / "tb_projector"
    served = np.loadtxt(tb / "vectors.tsv", delimiter="\t", dtype=np.float32, ndmin=2)
    assert np.array_equal(served, vectors), "tb_projector/vectors.tsv differs from the model's vectors"
    columns = full["export"]["tensorboard"]["metadata_columns"] or [full["input"]["id_column"]]
    lines = (tb / "metadata.tsv").read_text().split("\n")
    assert lines[0] == "\t".join(columns + ["item_weight"]) and lines[-1] == "" and len(lines) == len(frame) + 2
    for i, line in enumerate(lines[1:-1]):
        cells = line.split("\t")
        assert cells[:-1] == [_cell(frame[c].iloc[i]) for c in columns], (i, cells)
        assert float(cells[-1]) == pytest.approx(weights[i], rel=rel, abs=1e-15)


CASES = [pytest.param(t.name, w, id=f"{t.name}-{w}") for t in TABLES for w in WRITERS]


@pytest.mark.parametrize("name,writer", CASES)
def test_vectorize_matches_scikit_learn(tmp_path, name, writer):
    table = BY_NAME[name]
    full = stage(tmp_path, table, table.config, writer)
    want = check_vectorize(tmp_path, full)
    assert want.shape[0] == len(table.load()) and want.shape[1] >= 3




@pytest.mark.parametrize("name,writer", [pytest.param(t.name, w, id=f"{t.name}-{w}")
                                         for t in TABLES for w in WRITERS])
def test_columns_in_several_roles_match_scikit_learn(tmp_path, name, writer):
    table = BY_NAME[name]
    cfg = with_changes(table.config, table.several_roles)
    full = stage(tmp_path, table, cfg, writer)
    check_vectorize(tmp_path, full)


def _index(folder, dim, space="cosine"):
    index = hnswlib.Index(space=space, dim=dim)
    index.load_index(str(folder / "hnsw_index.bin"))
    index.set_ef(100)
    return index


def _normalised(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)


def check_index(folder, x, live, space="cosine"):
    """hnswlib loads the index; it holds exactly the live vectors; every live item finds itself (cosine,
    l2); search agrees with exact search."""
    index = _index(folder, x.shape[1], space)
    assert index.element_count == len(x) and index.dim == x.shape[1]
    live = np.asarray(live)
    stored = np.asarray(index.get_items(live.tolist()), dtype=np.float32)
    np.testing.assert_allclose(stored, _normalised(x[live]) if space == "cosine" else x[live], atol=1e-6)
    k = min(10, len(live))
    labels, dist = index.knn_query(x[live], k=k)
    if space != "ip":
        # Not every one: with many (near-)duplicate vectors HNSW misses a few, as hnswlib's own build does.
        assert np.mean(dist[:, 0] <= 1e-5) >= 0.99
        # Each item is among its own neighbours, or has k others at distance 0 (ties).
        assert np.mean([l in row or d[-1] <= 1e-5 for l, row, d in zip(live, labels, dist)]) >= 0.99
    y = _normalised(x[live]) if space == "cosine" else x[live].astype(np.float64)
    score = y @ y.T if space != "l2" else -(((y ** 2).sum(1)[:, None]) - 2 * y @ y.T + (y ** 2).sum(1)[None, :])
    # Recall against exact search, counting ties at the k-th score as hits.
    hits = []
    for i, row in enumerate(labels):
        kth = np.sort(score[i])[-k]
        ok = {int(l) for l in live[score[i] >= kth - 1e-6 * max(1.0, abs(kth))]}
        hits.append(np.mean([int(l) in ok for l in row]))
    assert np.mean(hits) >= 0.97, np.mean(hits)
    return labels


@pytest.mark.parametrize("name,writer", CASES)
def test_train_then_incremental(tmp_path, name, writer):
    table = BY_NAME[name]
    df = subsample(table, table.load())
    full = stage(tmp_path, table, table.config, writer, df)
    id_col = table.id_column
    ref, frame, want, w = reference(tmp_path, full)
    trainer("train", "--config", tmp_path / "trainer.yml")
    m = tmp_path / "models"
    x0 = np.load(m / "vectors.npy")
    assert_close(x0, want, "train vectors")
    ids0 = labels_of(m)
    assert ids0 == frame[id_col].tolist()
    check_projector(m, frame, full, x0, w)
    space = full["index"]["space"]
    check_index(m, x0, list(range(len(x0))), space)

    edited, removed, changed, added = incremental_edit(table, df)
    write_stage1(table, edited, tmp_path, writer)
    frame1 = joined_frame(tmp_path / "features.parquet", tmp_path / "item_metadata.json", id_col)
    trainer("train", "--config", tmp_path / "trainer.yml", "--incremental")
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["changes"] == {"added": len(added), "updated": len(changed), "deleted": len(removed)}
    ids1 = labels_of(m)
    n0 = len(ids0)
    assert ids1[:n0] == ids0 and ids1[n0:] == [str(a) for a in added]
    x1 = np.load(m / "vectors.npy")
    assert x1.shape == (n0 + len(added), x0.shape[1])
    state = [line.split("\t") for line in (m / "item_state.tsv").read_text().splitlines()]
    deleted = {ids1[i] for i, s in enumerate(state) if s[3] == "1"}
    assert deleted == {str(r) for r in removed}
    touched = {str(c) for c in changed} | {str(a) for a in added}
    untouched = [i for i, item in enumerate(ids0) if item not in touched and item not in deleted]
    assert np.array_equal(x1[untouched], x0[untouched]), "vectors of unchanged items moved"
    # Changed and new items: the saved pipeline's transform (full-fit encodings, no refit).
    rows = frame1[frame1[id_col].isin(touched)]
    want1, w1 = ref.transform(rows)
    label = {item: i for i, item in enumerate(ids1)}
    at = [label[item] for item in rows[id_col]]
    assert_close(x1[at], want1, "incremental vectors")
    np.testing.assert_allclose(np.load(m / "item_weights.npy")[at, 0], w1, rtol=1e-6, atol=1e-7)
    live = [i for i, item in enumerate(ids1) if item not in deleted]
    found = check_index(m, x1, live, space)
    dead = [label[str(r)] for r in removed]
    if dead:
        idx = _index(m, x1.shape[1], space)
        got, _ = idx.knn_query(x1[dead], k=min(10, len(live)))
        assert not set(got.ravel().tolist()) & set(dead)
    assert not set(found.ravel().tolist()) & set(dead)


@pytest.mark.parametrize("name", [t.name for t in TABLES])
def test_incremental_with_the_same_rows_changes_nothing(tmp_path, name):
    """The same rows written again by each writer, then shuffled: nothing added, updated or deleted,
    and the model's files keep their bytes."""
    table = BY_NAME[name]
    df = subsample(table, table.load())
    stage(tmp_path, table, table.config, "pandas", df)
    trainer("train", "--config", tmp_path / "trainer.yml")
    m = tmp_path / "models"
    before = {f: (m / f).read_bytes() for f in ("vectors.npy", "item_weights.npy", "hnsw_index.bin", "labels.tsv", "item_state.tsv")}
    shuffled = df.sample(frac=1.0, random_state=7)
    for writer, rows in (("pandas", df), ("pyarrow", df), ("polars", df), ("polars", shuffled)):
        write_stage1(table, rows, tmp_path, writer)
        trainer("train", "--config", tmp_path / "trainer.yml", "--incremental")
        meta = json.loads((m / "training_metadata.json").read_text())
        assert meta["changes"] == {"added": 0, "updated": 0, "deleted": 0}, writer
        assert {f: (m / f).read_bytes() for f in before} == before, writer


# ---- issue 12's known input defects, on real tables ---------------------------------------------


def test_unsigned_parquet_ids_and_features(tmp_path):
    """Penguins with uint32 ids above 2^31 (hashed ids are like that) and uint16 / uint8 measurements."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = BY_NAME["penguins"]
    df = table.load()
    df["penguin_id"] = df["penguin_id"] + 3_000_000_000
    full = stage(tmp_path, table, table.config, "pyarrow", df)
    t = pq.read_table(tmp_path / "features.parquet")
    t = t.set_column(0, "penguin_id", pa.array(df["penguin_id"].to_numpy(), pa.uint32()))
    for c, kind in (("body_mass_g", pa.uint16()), ("flipper_length_mm", pa.uint8())):
        values = [None if math.isnan(v) else int(v) for v in df[c]]
        t = t.set_column(t.schema.get_field_index(c), c, pa.array(values, kind))
    pq.write_table(t, tmp_path / "features.parquet")
    check_vectorize(tmp_path, full)
    assert labels_of(tmp_path / "models")[0] == "3000000001"


def test_decimal_features(tmp_path):
    """Airports with latitude and longitude stored as DECIMAL(11, 8), as a database export has them."""
    import decimal
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = BY_NAME["airports"]
    full = stage(tmp_path, table, table.config, "pyarrow")
    t = pq.read_table(tmp_path / "features.parquet")
    for c in ("latitude", "longitude"):
        values = [decimal.Decimal(repr(v)).quantize(decimal.Decimal("1e-8")) for v in t.column(c).to_pylist()]
        t = t.set_column(t.schema.get_field_index(c), c, pa.array(values, pa.decimal128(11, 8)))
    pq.write_table(t, tmp_path / "features.parquet")
    check_vectorize(tmp_path, full)


def test_json_ids_above_2_53(tmp_path):
    """Gapminder with 64-bit integer ids (as database keys often are), in Parquet and JSON."""
    table = BY_NAME["gapminder"]
    df = table.load()
    df["obs"] = (2**53 + 1 + 2 * np.arange(len(df))).astype(np.int64)
    full = stage(tmp_path, table, table.config, "pyarrow", df)
    check_vectorize(tmp_path, full)
    assert labels_of(tmp_path / "models")[0] == str(2**53 + 1)


def test_json_nan_is_missing(tmp_path):
    """Penguins with `year` and `island` in the metadata written by json.dump, whose missing numbers are NaN."""
    table = BY_NAME["penguins"]
    df = table.load()
    df.loc[df.index % 9 == 0, "year"] = np.nan
    full = stage(tmp_path, table, table.config, "pyarrow", df)
    records = df[[table.id_column] + table.metadata].to_dict(orient="records")
    records = [{k: (int(v) if isinstance(v, (np.integer,)) else v) for k, v in r.items()} for r in records]
    (tmp_path / "item_metadata.json").write_text(json.dumps(records))   # allow_nan: NaN as a bare token
    assert "NaN" in (tmp_path / "item_metadata.json").read_text()
    check_vectorize(tmp_path, full)


def test_json_with_byte_order_mark(tmp_path):
    """Cars metadata saved with a BOM (Windows tools and pandas' encoding='utf-8-sig' write one)."""
    table = BY_NAME["cars"]
    full = stage(tmp_path, table, table.config, "pandas")
    text = (tmp_path / "item_metadata.json").read_text(encoding="utf-8")
    (tmp_path / "item_metadata.json").write_text(text, encoding="utf-8-sig")
    check_vectorize(tmp_path, full)


@pytest.mark.parametrize("change", ["edit-projector-column", "reconfigure-projector"])
def test_incremental_projector_only_change_keeps_vectors(tmp_path, change):
    """la_riots: editing only `address` (a projector column no feature uses) of 10 items, or choosing
    other projector columns, updates no item: vectors and index keep their bytes."""
    table = BY_NAME["la_riots"]
    cfg = with_changes(table.config, {"export.tensorboard.metadata_columns": ["last_name", "address"]})
    df = table.load()
    stage(tmp_path, table, cfg, "pandas", df)
    trainer("train", "--config", tmp_path / "trainer.yml")
    m = tmp_path / "models"
    x0 = np.load(m / "vectors.npy")
    index0 = (m / "hnsw_index.bin").read_bytes()
    if change == "edit-projector-column":
        df.loc[:9, "address"] = df.loc[:9, "address"] + " (corrected)"
        write_stage1(table, df, tmp_path, "pandas")
    else:
        stage(tmp_path, table, with_changes(cfg, {"export.tensorboard.metadata_columns": ["first_name", "death_date"]}), "pandas", df)
    trainer("train", "--config", tmp_path / "trainer.yml", "--incremental")
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["changes"] == {"added": 0, "updated": 0, "deleted": 0}
    assert np.array_equal(np.load(m / "vectors.npy"), x0)
    assert (m / "hnsw_index.bin").read_bytes() == index0
    projector = (m / "tb_projector" / "metadata.tsv").read_text()
    assert "(corrected)" in projector if change == "edit-projector-column" else projector.startswith("first_name\tdeath_date\t")


@pytest.mark.parametrize("name", ["gapminder"])
def test_projector_after_incremental_shows_the_model(tmp_path, name):
    table = BY_NAME[name]
    df = subsample(table, table.load())
    full = stage(tmp_path, table, table.config, "pandas", df)
    trainer("train", "--config", tmp_path / "trainer.yml")
    edited, _, _, _ = incremental_edit(table, df)
    write_stage1(table, edited, tmp_path, "pandas")
    trainer("train", "--config", tmp_path / "trainer.yml", "--incremental")
    m = tmp_path / "models"
    frame = joined_frame(tmp_path / "features.parquet", tmp_path / "item_metadata.json", table.id_column)
    label = {item: i for i, item in enumerate(labels_of(m))}
    at = [label[item] for item in frame[table.id_column]]
    x = np.load(m / "vectors.npy")[at]
    w = np.load(m / "item_weights.npy")[at, 0].astype(np.float64)
    check_projector(m, frame, full, x, w, rel=1e-6)


# ---- defects found with this corpus that issue 12 does not list yet --------------------------------
# Each asserts the correct behaviour and is a strict xfail until fixed (then it flips to XPASS).

FIXED_BYTES = ("defect found with this corpus (same cause as issue 12 item 3's DECIMAL): FIXED_LEN_BYTE_ARRAY "
               "logical numbers reach the catalog as raw bytes")


def test_float16_features(tmp_path):
    """Penguins with bill_depth_mm stored as float16 (pyarrow's pa.float16(), polars' Float16)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = BY_NAME["penguins"]
    full = stage(tmp_path, table, table.config, "pyarrow")
    t = pq.read_table(tmp_path / "features.parquet")
    i = t.schema.get_field_index("bill_depth_mm")
    t = t.set_column(i, "bill_depth_mm", pa.array(t.column(i).to_numpy(zero_copy_only=False), pa.float16(), from_pandas=True))
    pq.write_table(t, tmp_path / "features.parquet")
    check_vectorize(tmp_path, full)


def test_decimal_and_float16_projector_columns(tmp_path):
    """Airports with latitude as DECIMAL(11, 8) and longitude as float16, both projector metadata columns."""
    import decimal
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = BY_NAME["airports"]
    cfg = with_changes(table.config, {"features.numeric": [], "features.target_encode": [], "features.target": None,
                                      "export.tensorboard.metadata_columns": ["iata", "latitude", "longitude"]})
    del cfg["features"]["target"]
    stage(tmp_path, table, cfg, "pyarrow")
    t = pq.read_table(tmp_path / "features.parquet")
    lat = [decimal.Decimal(repr(v)).quantize(decimal.Decimal("1e-8")) for v in t.column("latitude").to_pylist()]
    t = t.set_column(t.schema.get_field_index("latitude"), "latitude", pa.array(lat, pa.decimal128(11, 8)))
    lon = t.column("longitude").to_numpy().astype(np.float16)
    t = t.set_column(t.schema.get_field_index("longitude"), "longitude", pa.array(lon, pa.float16()))
    pq.write_table(t, tmp_path / "features.parquet")
    trainer("train", "--config", tmp_path / "trainer.yml")
    rows = (tmp_path / "models" / "tb_projector" / "metadata.tsv").read_text().splitlines()
    first = rows[1].split("\t")
    assert first[:3] == ["00M", str(lat[0]), repr(float(lon[0]))], first


def test_date_ids(tmp_path):
    """Seattle weather keyed by its date stored as a Parquet DATE; the metadata has the ISO dates."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = BY_NAME["seattle_weather"]
    df = table.load()
    df["date"] = pd.to_datetime(df["date"]).dt.strftime("%Y-%m-%d")
    full = stage(tmp_path, table, table.config, "pyarrow", df)
    t = pq.read_table(tmp_path / "features.parquet")
    days = pa.array(pd.to_datetime(df["date"]).dt.date, pa.date32())
    pq.write_table(t.set_column(0, "date", days), tmp_path / "features.parquet")
    trainer("vectorize", "--config", tmp_path / "trainer.yml")
    assert labels_of(tmp_path / "models")[:2] == ["2012-01-01", "2012-01-02"]
