"""`trainer vectorize` against the pandas + scikit-learn recipe, cell by cell."""
import json
import numpy as np
import pytest
from conftest import trainer
from pipeline_reference import make_catalog, reference, CONFIG


def run(tmp, seed=42, min_frequency="null", max_categories="null", **kw):
    features, meta = make_catalog(tmp, **kw)
    (tmp / "trainer.yml").write_text(CONFIG.format(folder=tmp, seed=seed, min_frequency=min_frequency, max_categories=max_categories))
    out = trainer("vectorize", "--config", tmp / "trainer.yml").stdout
    assert out.rstrip().endswith("/models/: vectors.npy, item_weights.npy, labels.tsv, pipeline.json"), out
    return features, meta, np.load(tmp / "models" / "vectors.npy")


@pytest.mark.parametrize("binary,jsonl,seed,dictionary", [(False, False, 42, True), (True, True, 7, True), (False, True, 3, False)])
def test_vectors_match_scikit_learn(tmp_path, binary, jsonl, seed, dictionary):
    features, meta, ours = run(tmp_path, seed=seed, binary=binary, jsonl=jsonl, dictionary=dictionary)
    want, w = reference(features, meta, seed=seed)
    assert ours.shape == want.shape
    assert np.max(np.abs(ours - want)) <= 1e-5, np.unravel_index(np.argmax(np.abs(ours - want)), ours.shape)
    weights = np.load(tmp_path / "models" / "item_weights.npy")[:, 0]
    np.testing.assert_allclose(weights, w, rtol=1e-6)
    labels = (tmp_path / "models" / "labels.tsv").read_text().splitlines()
    assert labels[0] == "0\tITM000000" and len(labels) == len(features)


def test_infrequent_categories_match_scikit_learn(tmp_path):
    features, meta, ours = run(tmp_path, min_frequency=30, max_categories=3)
    want, _ = reference(features, meta, min_frequency=30, max_categories=3)
    assert ours.shape == want.shape
    assert np.max(np.abs(ours - want)) <= 1e-5


def test_pipeline_json_is_complete(tmp_path):
    run(tmp_path)
    p = json.loads((tmp_path / "models" / "pipeline.json").read_text())
    assert p["format_version"] == 3 and p["dimension"] == 4 + 6 + 5 + 2  # process has 5 values + missing
    assert [c["name"] for c in p["numeric"]] == ["lead_time_days", "unit_cost", "production_volume", "constant"]
    assert p["numeric_scalers"][3]["scale"] == 1.0  # the constant column


@pytest.mark.parametrize("yaml_change,message", [
    (("  target: defect_rate", "  target: defect_rate\n  bogus: 1"), "features.bogus: unknown key"),
    (("  log_transform: [unit_cost, production_volume]", "  log_transform: [unit_cost, region]"), "features.log_transform: column 'region' is not in features.numeric"),
    (("  onehot: [process, material]", "  onehot: [process, material, supplier]"), "features.target_encode: column 'supplier' is already listed"),
    (("index: {space: cosine, M: 16, ef_construction: 100}", "index: {space: cosine, M: many}"), "index.M: expected an integer"),
    (("  features: ", "  feature_file: "), "input.features: is required"),
])
def test_config_errors_name_the_key(tmp_path, yaml_change, message):
    make_catalog(tmp_path, n=50)
    text = CONFIG.format(folder=tmp_path, seed=42, min_frequency="null", max_categories="null").replace(*yaml_change)
    (tmp_path / "trainer.yml").write_text(text)
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr, p.stderr
    assert not (tmp_path / "models").exists()


def test_input_errors_name_the_file_column_and_item(tmp_path):
    import pandas as pd, pyarrow as pa, pyarrow.parquet as pq
    features, _ = make_catalog(tmp_path, n=50)
    (tmp_path / "trainer.yml").write_text(CONFIG.format(folder=tmp_path, seed=42, min_frequency="null", max_categories="null"))
    bad = features.copy()
    bad.loc[3, "unit_cost"] = -5.0
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), tmp_path / "features.parquet")
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "unit_cost" in p.stderr and "ITM000003" in p.stderr and "negative" in p.stderr
    bad = features.copy()
    bad.loc[7, "item_id"] = "ITM000001"
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), tmp_path / "features.parquet")
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "ITM000001" in p.stderr and "more than once" in p.stderr
    bad = features.copy()
    bad.loc[2, "lead_time_days"] = np.inf
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), tmp_path / "features.parquet")
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "lead_time_days" in p.stderr and "ITM000002" in p.stderr
    pq.write_table(pa.Table.from_pandas(features.drop(columns=["material"]), preserve_index=False), tmp_path / "features.parquet")
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "material" in p.stderr
    assert not (tmp_path / "models").exists()


def _write(tmp, df):
    import pyarrow as pa, pyarrow.parquet as pq
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp / "features.parquet")
    return trainer("vectorize", "--config", tmp / "trainer.yml", check=False)


def test_more_input_errors(tmp_path):
    features, _ = make_catalog(tmp_path, n=50)
    (tmp_path / "trainer.yml").write_text(CONFIG.format(folder=tmp_path, seed=42, min_frequency="null", max_categories="null"))
    bad = features.copy()
    bad["lead_time_days"] = np.nan
    p = _write(tmp_path, bad)
    assert p.returncode == 3 and "lead_time_days" in p.stderr and "no values" in p.stderr
    p = _write(tmp_path, features.iloc[0:0])
    assert p.returncode == 3 and "empty" in p.stderr
    bad = features.copy()
    bad["unit_cost"] = bad["unit_cost"].astype(str)
    p = _write(tmp_path, bad)
    assert p.returncode == 3 and "unit_cost" in p.stderr and "numeric" in p.stderr
    (tmp_path / "features.parquet").write_bytes(b"PAR1garbagePAR1")
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "features.parquet" in p.stderr
    (tmp_path / "features.parquet").unlink()
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "features.parquet" in p.stderr and "cannot open" in p.stderr
    p = trainer("vectorize", "--config", tmp_path / "missing.yml", check=False)
    assert p.returncode == 2 and "missing.yml" in p.stderr
    assert not (tmp_path / "models").exists()


def test_bad_metadata_is_refused_with_its_line(tmp_path):
    make_catalog(tmp_path, n=20, jsonl=True)
    (tmp_path / "trainer.yml").write_text(CONFIG.format(folder=tmp_path, seed=42, min_frequency="null", max_categories="null"))
    lines = (tmp_path / "item_metadata.json").read_text().splitlines()
    lines[4] = lines[4][:-5]
    (tmp_path / "item_metadata.json").write_text("\n".join(lines))
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "item_metadata.json:5:" in p.stderr, p.stderr
    lines = (tmp_path / "item_metadata.json").read_text().splitlines()
    lines[4] = lines[3]
    (tmp_path / "item_metadata.json").write_text("\n".join(lines))
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    assert p.returncode == 3 and "appears more than once" in p.stderr, p.stderr
