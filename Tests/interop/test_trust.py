"""Defects a new user hit on real configurations, each pinned by a test (issue: trustworthy on real
catalogs). Every test runs the release binary on real Parquet and JSON written by pyarrow/pandas."""
import gzip, hashlib, json, os, shutil, subprocess
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from conftest import DELETE, config, trainer

ROOT = os.path.join(os.path.dirname(__file__), "../..")


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def train(cfg, *extra, check=True):
    return trainer("train", "--config", cfg, *extra, check=check)


# 1. Empty or root output paths are config errors naming the key.
@pytest.mark.parametrize("key,value", [("export.output_dir", ""), ("export.log_dir", ""), ("export.output_dir", "/"),
                                       ("export.log_dir", "//")])
def test_empty_or_root_output_path_is_a_config_error(sample, key, value):
    p = train(config(sample, **{key: value}), check=False)
    assert p.returncode == 2 and key in p.stderr, p.stderr
    assert not os.path.exists("/hnsw_index.bin") and not os.path.exists("/labels.tsv")


# 2. The work folder: only folders the trainer made are reused or removed.
def test_work_folder_of_the_user_is_never_deleted(sample, tmp_path):
    np.save(tmp_path / "x.npy", np.random.default_rng(1).standard_normal((400, 8), dtype=np.float32))
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious")
    p = trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / "i.bin", "-M", 8, "--workers", 1,
                "--shards", 2, "--work-dir", mine, check=False)
    assert p.returncode != 0 and "not made by the trainer" in p.stderr, p.stderr
    assert (mine / "thesis.txt").read_text() == "precious" and not (tmp_path / "i.bin").exists()
    # A new folder is made, marked and removed after the build; an empty one is taken and removed too.
    for work in (tmp_path / "new-work", tmp_path / "empty"):
        if work.name == "empty":
            work.mkdir()
        trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / "i.bin", "-M", 8, "--workers", 1,
                "--shards", 2, "--work-dir", work)
        assert not work.exists()
    p = trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / "i.bin", "-M", 8, "--workers", 1,
                "--shards", 2, "--work-dir", mine, "--resume", check=False)
    assert p.returncode != 0 and (mine / "thesis.txt").read_text() == "precious"


# 3. Unsigned integers and decimals are read as the numbers they are.
def test_unsigned_ids_and_values_and_decimals(tmp_path):
    n = 60
    rng = np.random.default_rng(3)
    ids = (np.arange(n, dtype=np.uint64) + 2**31 + 7).astype(np.uint32)
    volume = (rng.integers(0, 1000, n) + 3_000_000_000).astype(np.uint32)
    from decimal import Decimal
    cost = [Decimal(f"{v:.2f}") for v in rng.uniform(1, 100, n)]
    table = pa.table({"item_id": pa.array(ids, pa.uint32()), "volume": pa.array(volume, pa.uint32()),
                      "big": pa.array(np.full(n, 2**63 + 5, dtype=np.uint64), pa.uint64()),
                      "cost": pa.array(cost, pa.decimal128(9, 2)), "kind": [["a", "b", "c"][i % 3] for i in range(n)]})
    pq.write_table(table, tmp_path / "f.parquet")
    cfg = {"input": {"features": str(tmp_path / "f.parquet"), "id_column": "item_id"},
           "features": {"numeric": ["volume", "cost", "big"], "onehot": ["kind"]}, "scaling": "none",
           "cleaning": {"outliers": "none"}, "weighting": {"item_weight_column": "volume"},
           "export": {"output_dir": str(tmp_path / "m"), "log_dir": str(tmp_path / "l"), "tensorboard": {"enabled": False}}}
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    train(tmp_path / "c.yml")
    labels = pd.read_csv(tmp_path / "m/labels.tsv", sep="\t", header=None, dtype=str)
    assert list(labels[1]) == [str(i) for i in ids]
    x = np.load(tmp_path / "m/vectors.npy")
    np.testing.assert_allclose(x[:, 0], volume.astype(np.float32))
    np.testing.assert_allclose(x[:, 1], np.array([float(c) for c in cost], dtype=np.float32))
    np.testing.assert_allclose(x[:, 2], np.float32(2**63 + 5))
    w = np.load(tmp_path / "m/item_weights.npy")
    assert (w > 0).all()


# 4. Incremental runs change only items whose feature inputs changed.
def test_incremental_keeps_items_whose_feature_inputs_did_not_change(sample):
    cfg = config(sample)
    train(cfg)
    m = sample / "models"
    before = np.load(m / "vectors.npy")
    index_before = sha(m / "hnsw_index.bin")
    meta_path = sample / "data/sample/item_metadata.json"
    records = json.loads(meta_path.read_text())
    for r in records[:10]:
        r["name"] = r["name"] + " (renamed)"
    meta_path.write_text(json.dumps(records))
    train(cfg, "--incremental")
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["changes"] == {"added": 0, "updated": 0, "deleted": 0}
    assert np.array_equal(np.load(m / "vectors.npy"), before) and sha(m / "hnsw_index.bin") == index_before
    cfg = config(sample, **{"export.tensorboard.metadata_columns": ["item_id", "industry"]})
    train(cfg, "--incremental")
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["changes"]["updated"] == 0 and sha(m / "hnsw_index.bin") == index_before


# 5. All artifacts are one commit: a failure leaves every old one, the projector included.
def test_projector_is_part_of_the_commit(sample):
    cfg = config(sample)
    train(cfg)
    m = sample / "models"

    def snapshot():
        return {os.path.relpath(os.path.join(r, f), m): sha(os.path.join(r, f)) for r, _, fs in os.walk(m) for f in fs}
    before = snapshot()
    if subprocess.run(["chattr", "+i", str(m / "tb_projector")], capture_output=True).returncode != 0:
        pytest.skip("chattr is not available on this filesystem")
    try:
        p = train(config(sample, seed=43), check=False)
    finally:
        subprocess.run(["chattr", "-i", str(m / "tb_projector")])
    assert p.returncode == 1 and "tb_projector" in p.stderr, p.stderr
    assert snapshot() == before
    # Disabled, the projector of the previous model goes with it.
    train(config(sample, **{"export.tensorboard.enabled": False}))
    assert not (m / "tb_projector").exists() and (m / "hnsw_index.bin").exists()


# 6. export.numpy and index.ef_search do what they say.
def test_numpy_false_and_ef_search(sample):
    cfg = config(sample, **{"export.numpy": False, "index.ef_search": 77})
    train(cfg)
    m = sample / "models"
    assert not (m / "vectors.npy").exists() and not (m / "item_weights.npy").exists()
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["index"]["ef_search"] == 77 and "vectors.npy" not in meta["artifacts"]
    p = train(cfg, "--incremental", check=False)
    assert p.returncode == 2 and "export.numpy" in p.stderr


# 7. The metadata: snake_case, start time, and the effective configuration that re-runs.
def test_metadata_config_reruns_to_the_same_bytes(sample):
    cfg = config(sample)
    train(cfg)
    m = sample / "models"
    meta = json.loads((m / "training_metadata.json").read_text())
    for key in ("model_version", "data_version", "git_commit", "started_at", "item_count", "vector_dimension",
                "timings_seconds", "peak_rss_bytes", "trainer_version"):
        assert key in meta, key
    assert meta["started_at"].endswith("Z")
    effective = meta["config"]
    assert effective["index"]["M"] == 32 and effective["cleaning"]["iqr_k"] == 1.5 and effective["cluster"]["refine"]["k"] == 8
    digests = {n: sha(m / n) for n in ("hnsw_index.bin", "vectors.npy", "pipeline.json", "labels.tsv")}
    (sample / "again.yml").write_text(yaml.safe_dump(effective))
    shutil.rmtree(m)
    train(sample / "again.yml")
    assert {n: sha(m / n) for n in digests} == digests
    assert json.loads((m / "training_metadata.json").read_text())["config"] == effective


# 8. git_commit is the build's commit, not the current folder's repository.
def test_git_commit_is_the_build_commit(sample, tmp_path):
    other = tmp_path / "other-repo"
    other.mkdir()
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-C", str(other), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty",
                    "-m", "x"], check=True)
    theirs = subprocess.run(["git", "-C", str(other), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    cfg = config(sample)
    p = subprocess.run([os.path.abspath(os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer"))),
                        "train", "--config", str(cfg)], cwd=other, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    meta = json.loads((sample / "models/training_metadata.json").read_text())
    assert meta["git_commit"] != theirs and meta["git_commit"] != "unknown"
    header = open(os.path.join(ROOT, "Sources/CBuildInfo/generated_commit.h")).read()
    assert meta["git_commit"] in header


# 9. pipeline.json: plain JSON values and the name of every output column.
def test_pipeline_json_is_plain_and_names_columns(sample):
    train(config(sample))
    pipe = json.loads((sample / "models/pipeline.json").read_text())
    text = json.dumps(pipe)
    assert '"_0"' not in text and '{"string"' not in text
    names = pipe["output_columns"]
    assert len(names) == np.load(sample / "models/vectors.npy").shape[1]
    assert names[:3] == ["lead_time_days", "unit_cost", "production_volume"]
    assert "process=forging" in names and "te:supplier" in names

    def keys(v, inside_weights=False):
        if isinstance(v, dict):
            for k, w in v.items():
                if not inside_weights:
                    yield k
                yield from keys(w, k == "domain_weights")
        elif isinstance(v, list):
            for w in v:
                yield from keys(w)
    assert all(k == k.lower() for k in keys(pipe)), sorted(k for k in keys(pipe) if k != k.lower())


# 10. labels.tsv escapes and reads back exactly with pandas; item_state fingerprints are zero-padded.
def test_labels_escape_and_read_back(tmp_path):
    ids = ["plain", "tab\there", "line\nbreak", "cr\r\nlf", "back\\slash", "é", "e\u0301"]
    n = len(ids) * 10
    all_ids = [f"{i}-{k}" if k else i for k in range(10) for i in ids]
    pq.write_table(pa.table({"id": all_ids, "v": np.arange(n, dtype=np.float64), "c": [["x", "y"][k % 2] for k in range(n)]}),
                   tmp_path / "f.parquet")
    cfg = {"input": {"features": str(tmp_path / "f.parquet"), "id_column": "id"},
           "features": {"numeric": ["v"], "onehot": ["c"]},
           "export": {"output_dir": str(tmp_path / "m"), "log_dir": str(tmp_path / "l")}}
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    train(tmp_path / "c.yml")
    # The README's recipe.
    labels = pd.read_csv(tmp_path / "m/labels.tsv", sep="\t", header=None, names=["label", "id"], dtype={"id": str},
                         quoting=3, keep_default_na=False)
    unescape = {"\\t": "\t", "\\n": "\n", "\\r": "\r", "\\\\": "\\"}
    import re
    labels["id"] = labels["id"].map(lambda s: re.sub(r"\\[tnr\\]", lambda m: unescape[m.group(0)], s))
    assert list(labels["id"]) == all_ids and list(labels["label"]) == list(range(n))
    for line in (tmp_path / "m/item_state.tsv").read_text().splitlines():
        assert len(line.split("\t")[2]) == 16


# 11. A column in several roles is loaded once and serves each.
def test_column_in_several_roles(sample):
    cfg = config(sample, **{"features.numeric": ["lead_time_days", "unit_cost", "production_volume", "defect_rate"],
                            "export.tensorboard.metadata_columns": ["item_id", "industry", "name"],
                            "weighting.domain_column": "industry"})
    train(cfg)
    x = np.load(sample / "models/vectors.npy")
    assert x.shape[1] == 22
    header = (sample / "models/tb_projector/metadata.tsv").read_text().splitlines()[0]
    assert header == "item_id\tindustry\tname\titem_weight"


# 12. A column in both inputs: the features file wins, with a warning when values differ.
def test_column_in_both_inputs_warns_when_values_differ(sample):
    meta_path = sample / "data/sample/item_metadata.json"
    records = json.loads(meta_path.read_text())
    for i, r in enumerate(records):
        r["unit_cost"] = 1.0 if i < 3 else None
    meta_path.write_text(json.dumps(records))
    p = train(config(sample))
    assert "unit_cost" in p.stderr and "values of" in p.stderr and "differ" in p.stderr


# 13. Duplicate YAML keys are errors.
def test_duplicate_yaml_key_is_an_error(sample):
    cfg = config(sample)
    cfg.write_text(cfg.read_text().replace("  M: 32\n", "  M: 32\n  M: 8\n"))
    p = train(cfg, check=False)
    assert p.returncode == 2 and "index.M" in p.stderr and "more than once" in p.stderr


# 14. What can be checked before work starts is checked before work starts.
@pytest.mark.parametrize("changes,key", [
    ({"export.log_dir": "FILE/logs"}, "export.log_dir"),
    ({"export.output_dir": "FILE/models"}, "export.output_dir"),
    ({"index.M": 1}, "index.M"),
    ({"index.M": 20000}, "index.M"),
    ({"index.ef_construction": 0}, "index.ef_construction"),
    ({"input.item_metadata": "NOPE.json"}, "input.item_metadata"),
])
def test_checked_before_work_starts(sample, changes, key):
    (sample / "afile").write_text("x")
    changes = {k: v.replace("FILE", str(sample / "afile")).replace("NOPE", str(sample / "nope")) if isinstance(v, str) else v
               for k, v in changes.items()}
    p = train(config(sample, **changes), check=False)
    assert p.returncode in (2, 3) and key in p.stderr, p.stderr
    assert "run started" not in p.stderr and not (sample / "models").exists()


def test_too_many_shards_names_the_key(sample):
    df = pq.read_table(sample / "data/sample/features.parquet").slice(0, 5)
    pq.write_table(df, sample / "data/sample/features.parquet")
    p = train(config(sample, **{"cluster.mode": "local", "cluster.shards": 8}), check=False)
    assert p.returncode == 2 and "cluster.shards" in p.stderr and "5 items" in p.stderr, p.stderr
    assert "phase done phase=pipeline" not in p.stderr


# 15. One set of limits: what the config accepts the wire accepts.
@pytest.mark.parametrize("key,value", [("cluster.refine.k", 5000), ("cluster.refine.max_shards", 300),
                                       ("cluster.refine.ef", 200000), ("cluster.shards", 70000)])
def test_cluster_limits_are_config_errors(sample, key, value):
    p = train(config(sample, **{"cluster.mode": "local", key: value}), check=False)
    assert p.returncode == 2 and key in p.stderr, p.stderr


# 16. Silent no-ops: unmatched domain weights warn; too few target rows for cv folds is refused.
def test_unmatched_domain_weights_warn(sample):
    p = train(config(sample, **{"weighting.domain_weights": {"automotive": 1.5, "aerospase": 2.0}}))
    assert "aerospase" in p.stderr and "applies to nothing" in p.stderr


def test_fewer_target_rows_than_folds_is_refused(sample):
    df = pq.read_table(sample / "data/sample/features.parquet").to_pandas()
    df.loc[3:, "defect_rate"] = np.nan
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sample / "data/sample/features.parquet")
    p = train(config(sample), check=False)
    assert p.returncode == 3 and "target_encoding.cv" in p.stderr and "3 items" in p.stderr, p.stderr


# 17–19. JSON metadata: exact big integer ids, ids compared by bytes, clear messages.
def metadata_case(tmp_path, ids_parquet, records, raw=None, extra_cfg=None):
    pq.write_table(pa.table({"item_id": ids_parquet, "v": np.arange(len(ids_parquet), dtype=np.float64)}), tmp_path / "f.parquet")
    if raw is not None:
        (tmp_path / "meta.json").write_bytes(raw)
    else:
        (tmp_path / "meta.json").write_text(json.dumps(records))
    cfg = {"input": {"features": str(tmp_path / "f.parquet"), "item_metadata": str(tmp_path / "meta.json"), "id_column": "item_id"},
           "features": {"numeric": ["v"], "onehot": ["kind"]},
           "export": {"output_dir": str(tmp_path / "m"), "log_dir": str(tmp_path / "l"), "tensorboard": {"enabled": False}}}
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    return train(tmp_path / "c.yml", check=False)


def test_big_integer_ids_in_json_are_exact(tmp_path):
    ids = [2**53 + i for i in range(1, 21)]
    p = metadata_case(tmp_path, pa.array(ids, pa.int64()), [{"item_id": i, "kind": "ab"[i % 2]} for i in ids])
    assert p.returncode == 0, p.stderr
    labels = (tmp_path / "m/labels.tsv").read_text().split()
    assert labels[1::2] == [str(i) for i in ids]


def test_ids_differing_by_normalisation_are_distinct(tmp_path):
    ids = ["caf\u00e9", "cafe\u0301"] + [f"x{i}" for i in range(10)]
    p = metadata_case(tmp_path, ids, [{"item_id": i, "kind": "ab"[k % 2]} for k, i in enumerate(ids)])
    assert p.returncode == 0, p.stderr
    x = np.load(tmp_path / "m/vectors.npy")
    assert x[0, 1] != x[1, 1]  # one-hot kind a vs b


@pytest.mark.parametrize("records,raw,words", [
    ([{"item_id": "other-1", "kind": "a"}, {"item_id": "other-2", "kind": "b"}], None, ["none of its 2 records", "'other-1'", "'i0'"]),
    ([], None, ["holds no records"]),
    (None, b"", ["holds no records"]),
    (None, gzip.compress(b'[{"item_id": "i0", "kind": "a"}]'), ["gzip"]),
])
def test_metadata_messages(tmp_path, records, raw, words):
    p = metadata_case(tmp_path, [f"i{k}" for k in range(10)], records, raw)
    assert p.returncode == 3, p.stderr
    for w in words:
        assert w in p.stderr, p.stderr


def test_unusable_ids_are_named(tmp_path):
    # An empty id in the features names no item; a float id in the metadata is shown with why.
    p = metadata_case(tmp_path, ["i0", "", "i2"], [{"item_id": "i0", "kind": "a"}])
    assert p.returncode == 3 and "row 1 has an empty item id in column 'item_id'" in p.stderr, p.stderr
    p = metadata_case(tmp_path, ["i0", "i1"], [{"item_id": 1.8446744073709552e19, "kind": "a"}])
    assert p.returncode == 3 and "record 1 has 'item_id' (input.id_column) 1.8446744073709552e+19" in p.stderr, p.stderr
    assert "cannot name an id exactly" in p.stderr, p.stderr


def test_items_without_a_record_are_not_counted_as_differing_values(tmp_path):
    # 'kind' is in both files; the one item the metadata lacks is a missing record, not a difference.
    ids = [f"i{k}" for k in range(10)]
    pq.write_table(pa.table({"item_id": ids, "v": np.arange(10, dtype=np.float64), "kind": ["ab"[k % 2] for k in range(10)]}),
                   tmp_path / "f.parquet")
    (tmp_path / "meta.json").write_text(json.dumps([{"item_id": i, "kind": "ab"[k % 2]} for k, i in enumerate(ids[:9])]))
    cfg = {"input": {"features": str(tmp_path / "f.parquet"), "item_metadata": str(tmp_path / "meta.json"), "id_column": "item_id"},
           "features": {"numeric": ["v"], "onehot": ["kind"]},
           "export": {"output_dir": str(tmp_path / "m"), "log_dir": str(tmp_path / "l"), "tensorboard": {"enabled": False}}}
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    p = train(tmp_path / "c.yml", check=False)
    assert p.returncode == 0 and "1 of 10 items of" in p.stderr and "have no record" in p.stderr, p.stderr
    assert "items differ" not in p.stderr, p.stderr


@pytest.mark.parametrize("key", ["item_weight_column", "domain_column"])
def test_the_id_column_cannot_be_a_weighting_column(sample, key):
    p = train(config(sample, **{f"weighting.{key}": "item_id"}), check=False)
    assert p.returncode == 2 and f"weighting.{key}: column 'item_id' is the id column" in p.stderr, p.stderr


def test_output_folders_the_system_refuses_are_found_before_work(sample):
    # access() says yes to root on /proc; the check makes and removes a probe folder instead.
    for key in ["export.output_dir", "export.log_dir"]:
        p = train(config(sample, **{key: "/proc/trainer-nope"}), check=False)
        assert p.returncode == 2 and f"{key}: '/proc/trainer-nope' cannot be created in '/proc'" in p.stderr, p.stderr
        assert "run started" not in p.stderr
    assert not [e for e in os.listdir(sample) if e.startswith(".trainer-probe")]


def test_json_nan_and_bom_are_accepted(tmp_path):
    ids = [f"i{k}" for k in range(12)]
    text = "[" + ",".join(f'{{"item_id": "{i}", "kind": "{"ab"[k % 2]}", "score": {"NaN" if k % 3 == 0 else k}}}'
                          for k, i in enumerate(ids)) + "]"
    p = metadata_case(tmp_path, ids, None, raw=b"\xef\xbb\xbf" + text.encode())
    assert p.returncode == 0, p.stderr


def test_nested_parquet_column_is_named(tmp_path):
    t = pa.table({"item_id": [f"i{k}" for k in range(10)], "v": np.arange(10, dtype=np.float64),
                  "dims": pa.array([{"w": float(k), "h": 1.0} for k in range(10)])})
    pq.write_table(t, tmp_path / "f.parquet")
    cfg = {"input": {"features": str(tmp_path / "f.parquet")}, "features": {"numeric": ["v", "dims"]},
           "export": {"output_dir": str(tmp_path / "m"), "log_dir": str(tmp_path / "l")}}
    (tmp_path / "c.yml").write_text(yaml.safe_dump(cfg))
    p = train(tmp_path / "c.yml", check=False)
    assert p.returncode == 3 and "'dims' is nested" in p.stderr, p.stderr


# 20. One log event per line; the pbtxt escapes the name; a user column called item_weight.
def test_log_lines_pbtxt_and_item_weight_column(sample):
    meta_path = sample / "data/sample/item_metadata.json"
    records = json.loads(meta_path.read_text())
    for i, r in enumerate(records):
        r["item_weight"] = "user value"
    meta_path.write_text(json.dumps(records))
    cfg = config(sample, **{"model_version": "2.0\nsecond line", "export.tensorboard.embedding_name": 'say "hi"',
                            "export.tensorboard.metadata_columns": ["item_id", "item_weight"]})
    train(cfg)
    log = next((sample / "logs").glob("trainer_*.log")).read_text().splitlines()
    assert all(line[:4].isdigit() for line in log), log[:5]
    assert any("second line" in line and "2.0\\nsecond" in line for line in log)
    pbtxt = (sample / "models/tb_projector/projector_config.pbtxt").read_text()
    assert 'tensor_name: "say \\"hi\\""' in pbtxt
    rows = (sample / "models/tb_projector/metadata.tsv").read_text().splitlines()
    assert rows[0] == "item_id\titem_weight\ttrainer_item_weight"
    assert rows[1].split("\t")[1] == "user value" and float(rows[1].split("\t")[2]) > 0


# 21. Items kept with delete_missing: false stay in the projector.
def test_kept_items_stay_in_the_projector(sample):
    cfg = config(sample, **{"incremental.delete_missing": False})
    train(cfg)
    df = pq.read_table(sample / "data/sample/features.parquet")
    pq.write_table(df.slice(0, 900), sample / "data/sample/features.parquet")
    train(cfg, "--incremental")
    m = sample / "models"
    rows = (m / "tb_projector/metadata.tsv").read_text().splitlines()
    assert len(rows) == 1001
    assert len((m / "tb_projector/vectors.tsv").read_text().splitlines()) == 1000
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["item_count"] == 1000 and meta["changes"]["deleted"] == 0


# 22–25. The command line: no trap, one message naming the right thing, one exit-code map.
def test_cli_arguments_never_trap(tmp_path):
    x = np.random.default_rng(5).standard_normal((300, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / "i.bin", "-M", 8)
    for args, words in [
        (["eval", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "x.npy", "--sample", "-1"], ["--sample must be ≥ 1"]),
        (["eval", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "x.npy", "--ef", "10,,x"], ["--ef must list"]),
        (["query", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "x.npy", "--row", "-1"], ["--row must be ≥ 0"]),
        (["query", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "x.npy", "--ef", "0"], ["--ef must be in"]),
        (["build-index", "--vectors", tmp_path / "x.npy", "--batch-size", "0"], ["--batch-size must be in"]),
        (["build-index", "--vectors", tmp_path / "x.npy", "--refine-max-shards", "300", "--workers", "1"], ["--refine-max-shards"]),
        (["build-index", "--vectors", tmp_path / "x.npy", "--threads", "-2"], ["--threads must be ≥ 0"]),
    ]:
        p = trainer(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        for w in words:
            assert w in p.stderr, (args, p.stderr)


def test_build_index_refuses_non_finite_vectors(tmp_path):
    x = np.random.default_rng(6).standard_normal((100, 4), dtype=np.float32)
    x[37, 2] = np.nan
    np.save(tmp_path / "x.npy", x)
    p = trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / "i.bin", check=False)
    assert p.returncode == 3 and "row 37" in p.stderr and "nan" in p.stderr and "x.npy" in p.stderr, p.stderr
    assert not (tmp_path / "i.bin").exists()


def test_eval_checks_its_inputs_and_skips_deleted(tmp_path):
    import hnswlib
    x = np.random.default_rng(7).standard_normal((500, 8), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    trainer("build-index", "--vectors", tmp_path / "x.npy", "--out", tmp_path / "i.bin", "-M", 8)
    np.save(tmp_path / "empty.npy", np.zeros((0, 8), dtype=np.float32))
    p = trainer("eval", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "x.npy", "--queries", tmp_path / "empty.npy", check=False)
    assert p.returncode == 3 and "empty.npy" in p.stderr and "(0, 8)" in p.stderr
    np.save(tmp_path / "fewer.npy", x[:400])
    p = trainer("eval", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "fewer.npy", check=False)
    assert p.returncode == 3 and "400 rows" in p.stderr and "500 labels" in p.stderr
    np.save(tmp_path / "q9.npy", np.ones((3, 9), dtype=np.float32))
    p = trainer("query", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "q9.npy", check=False)
    assert p.returncode == 3 and "q9.npy: vectors have dimension 9" in p.stderr and "has dimension 8" in p.stderr
    np.save(tmp_path / "z.npy", np.zeros((5, 0), dtype=np.float32))
    p = trainer("build-index", "--vectors", tmp_path / "z.npy", check=False)
    assert p.returncode == 3 and "z.npy" in p.stderr and "(5, 0)" in p.stderr
    p = trainer("eval", "--space", "cosine", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "nope.npy", check=False)
    assert p.returncode == 3 and p.stderr.count("nope.npy") == 1, p.stderr
    # Deleted labels are not part of the exact ground truth: recall stays 1.0 at a large ef.
    idx = hnswlib.Index(space="cosine", dim=8)
    idx.load_index(str(tmp_path / "i.bin"))
    for label in range(0, 500, 2):
        idx.mark_deleted(label)
    idx.save_index(str(tmp_path / "d.bin"))
    out = trainer("eval", "--space", "cosine", "--index", tmp_path / "d.bin", "--vectors", tmp_path / "x.npy", "--ef", "400", "--json").stdout
    assert json.loads(out.splitlines()[0])["recall"] >= 0.999, out


# 7. The JSON Schema in docs/ describes the real output, single, cluster and incremental.
def test_metadata_matches_its_schema(sample):
    import jsonschema
    schema = json.load(open(os.path.join(ROOT, "docs/training_metadata.schema.json")))
    cfg = config(sample, **{"cluster.mode": "local", "cluster.shards": 2, "cluster.workers": 1})
    train(cfg)
    jsonschema.validate(json.loads((sample / "models/training_metadata.json").read_text()), schema)
    train(cfg, "--incremental")
    meta = json.loads((sample / "models/training_metadata.json").read_text())
    jsonschema.validate(meta, schema)
    assert "changes" in meta and "parent_model" in meta
    meta["unexpected"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(meta, schema)


# 26. SIGTERM to a local-mode coordinator leaves no ipc:// socket file and no worker behind; the work
# folder stays for --resume.
def start_local_build(tmp_path, seed):
    """A local-mode build-index on one worker, long enough to interrupt: the process, once its
    worker has started, and the worker's pid."""
    x = np.random.default_rng(seed).standard_normal((60000, 32), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    exe = os.path.abspath(os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer")))
    p = subprocess.Popen([exe, "build-index", "--vectors", str(tmp_path / "x.npy"), "--out", str(tmp_path / "i.bin"),
                          "--workers", "1", "--shards", "2", "--threads", "1"], stderr=subprocess.PIPE, text=True)
    lines = []
    for line in p.stderr:
        lines.append(line)
        if "local worker started" in line:
            break
    return p, [int(l.split("pid=")[1].split()[0]) for l in lines if "local worker started" in l], lines


def test_sigterm_removes_the_ipc_socket(tmp_path):
    import glob, signal, time
    p, workers, lines = start_local_build(tmp_path, 8)
    # The socket lives in the work folder (<out>.work), which the run knows is writable.
    pattern = str(tmp_path / "i.bin.work" / f"coordinator-{p.pid}.ipc")
    assert glob.glob(pattern), lines
    time.sleep(0.5)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=20) == 128 + signal.SIGTERM
    assert not glob.glob(pattern) and (tmp_path / "i.bin.work" / "plan.txt").exists()
    deadline = time.time() + 5
    while time.time() < deadline and any(os.path.exists(f"/proc/{w}") and "Z" not in open(f"/proc/{w}/stat").read().split()[2] for w in workers):
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{w}") and "Z" not in open(f"/proc/{w}/stat").read().split()[2] for w in workers)


# What a first-time user hit after the fixes above.
def test_shards_too_small_for_the_catalog_are_refused(sample):
    p = train(config(sample, **{"cluster.mode": "local", "cluster.shards": 16}), check=False)
    assert p.returncode == 2 and "cluster.shards: is 16" in p.stderr and "at most 7 shards" in p.stderr, p.stderr
    assert str(sample / "trainer.yml") in p.stderr


def test_vectorize_never_overwrites_part_of_a_model(sample):
    cfg = config(sample)
    train(cfg)
    before = {n: sha(sample / "models" / n) for n in ("vectors.npy", "labels.tsv", "pipeline.json")}
    p = trainer("vectorize", "--config", cfg, check=False)
    assert p.returncode == 2 and "holds a trained model" in p.stderr
    assert {n: sha(sample / "models" / n) for n in before} == before
    (sample / "afile").write_text("x")
    p = trainer("vectorize", "--config", cfg, "--out", sample / "afile", check=False)
    assert p.returncode == 2 and "--out" in p.stderr and "is a file" in p.stderr and "NSCocoa" not in p.stderr


def test_config_mistakes_are_named(sample):
    cfg = config(sample)
    text = cfg.read_text()
    for bad, words in [
        (text.replace(f"output_dir: {sample}/models", "output_dir:"), ["export.output_dir: is empty"]),
        (text.replace("input:", "inputs:"), ["inputs: unknown key"]),
        (text.replace("M: 32", "M: '32'"), ["index.M: expected an integer, got the quoted string \"32\""]),
        (text.replace("numpy: true", "numpy: 'false'"), ["export.numpy: expected true or false"]),
    ]:
        cfg.write_text(bad)
        p = train(cfg, check=False)
        assert p.returncode == 2, (words, p.stderr)
        for w in words:
            assert w in p.stderr, p.stderr


def test_partial_metadata_match_warns_with_counts(sample):
    meta_path = sample / "data/sample/item_metadata.json"
    records = json.loads(meta_path.read_text())
    for r in records[:10]:
        r["item_id"] = "GONE-" + r["item_id"]
    meta_path.write_text(json.dumps(records))
    p = train(config(sample))
    assert "10 of 1000 items" in p.stderr and "have no record" in p.stderr
    assert "10 records of" in p.stderr and "'GONE-ITM-0000000'" in p.stderr


def test_summary_lists_what_was_written(sample):
    out = train(config(sample, **{"export.numpy": False})).stdout
    assert "vectors.npy" not in out and "tb_projector/" in out and "hnsw_index.bin" in out


def test_work_folder_of_the_user_is_refused_before_work(sample):
    mine = sample / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    p = train(config(sample, **{"cluster.mode": "local", "cluster.work_dir": str(mine)}), check=False)
    assert p.returncode == 2 and "cluster.work_dir" in p.stderr and "not made by the trainer" in p.stderr
    assert "run started" not in p.stderr and (mine / "notes.txt").read_text() == "mine"


def test_query_needs_the_space_and_worker_checks_numbers(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 4), dtype=np.float32))
    p = trainer("query", "--index", tmp_path / "i.bin", "--vectors", tmp_path / "x.npy", check=False)
    assert p.returncode == 2 and "--space" in p.stderr
    p = trainer("worker", "--connect", "tcp://127.0.0.1:1", "--give-up-after", "-1", check=False)
    assert p.returncode == 2 and "--give-up-after must be > 0" in p.stderr
    p = trainer("parquet", "cat", tmp_path / "x.parquet", "--limit", "-1", check=False)
    assert p.returncode == 2 and "--limit must be ≥ 0" in p.stderr


def test_local_worker_ends_soon_after_its_coordinator_dies(tmp_path):
    """SIGKILL leaves the coordinator no chance to stop its workers; they notice within seconds,
    even in the middle of a shard build."""
    import signal, time
    p, workers, _ = start_local_build(tmp_path, 9)
    time.sleep(2)  # the worker now holds a shard job
    p.send_signal(signal.SIGKILL)
    p.wait()
    t0 = time.time()

    def alive(pid):
        try:
            return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
        except FileNotFoundError:
            return False
    while time.time() - t0 < 10 and any(alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(alive(w) for w in workers) and time.time() - t0 < 5, time.time() - t0
    # Nobody else was left to remove the coordinator's socket file: its workers did.
    assert not (tmp_path / "i.bin.work" / f"coordinator-{p.pid}.ipc").exists()
    assert (tmp_path / "i.bin.work" / "plan.txt").exists(), "the work folder stays for --resume"


def test_sampled_projector_shows_the_right_rows_of_projector_only_columns(sample):
    """Above `max_points` the projector exports a seeded sample, and columns only it uses keep just
    those rows: every exported row's name and industry are that item's, from either input."""
    import pandas as pd
    meta = {r["item_id"]: r for r in json.load(open(sample / "data/sample/item_metadata.json"))}
    feats = pq.read_table(sample / "data/sample/features.parquet").to_pandas().set_index("item_id")
    train(config(sample, **{"export.tensorboard.max_points": 37,
                            "export.tensorboard.metadata_columns": ["item_id", "name", "industry", "process"]}))
    rows = pd.read_csv(sample / "models/tb_projector/metadata.tsv", sep="\t", keep_default_na=False)
    assert len(rows) == 37 and rows["item_id"].is_unique
    for r in rows.itertuples():
        assert r.name == meta[r.item_id]["name"] and r.industry == meta[r.item_id]["industry"]
        v = feats.loc[r.item_id, "process"]
        assert r.process == ("<missing>" if pd.isna(v) else v)
    vectors = np.loadtxt(sample / "models/tb_projector/vectors.tsv", delimiter="\t")
    labels = [l.split("\t")[1] for l in (sample / "models/labels.tsv").read_text().splitlines()]
    x = np.load(sample / "models/vectors.npy")
    order = {item: i for i, item in enumerate(labels)}
    assert np.allclose(vectors, x[[order[i] for i in rows["item_id"]]], atol=1e-6)


# The vectors' artifacts are staged before the index is built (so the build holds the vectors once):
# a run killed during the build leaves its staging folder, which the next run removes; the staging
# folders of live processes and the user's own files are left alone, and a failed first run leaves
# no output folder behind.
def test_a_killed_run_leaves_nothing_the_next_run_keeps(tmp_path):
    import signal, time
    trainer("synth", "--items", 60000, "--seed", 5, "--out", tmp_path / "data/sample")
    cfg = config(tmp_path, **{"index.ef_construction": 400, "index.threads": 1, "export.tensorboard.enabled": False})
    models = tmp_path / "models"
    exe = os.path.abspath(os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer")))
    p = subprocess.Popen([exe, "train", "--config", str(cfg)], stderr=subprocess.DEVNULL)
    staging = models / f".staging-{p.pid}"
    deadline = time.time() + 120
    while time.time() < deadline and not (staging / "vectors.npy").exists():
        time.sleep(0.05)
    time.sleep(0.3)
    assert p.poll() is None, "the run ended before it could be interrupted"
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=20)
    assert (staging / "vectors.npy").exists() and not (models / "hnsw_index.bin").exists()
    alive = models / f".staging-{os.getpid()}"
    alive.mkdir()
    (alive / "keep").write_text("a live process's")
    (models / ".staging-notes.txt").write_text("the user's")
    train(cfg)
    assert not staging.exists() and (alive / "keep").exists() and (models / ".staging-notes.txt").exists()
    assert sorted(n for n in os.listdir(models) if n.startswith(".")) == [alive.name, ".staging-notes.txt"]


# A run killed while it moves its artifacts in (SIGKILL at each rename of the commit, injected by
# strace) leaves the folder mixing two runs; the next run puts the previous run's artifacts back
# (or keeps the new ones when all had moved in), so the folder always holds one run's set whose
# checksums match its metadata. Staging folders without the trainer's marker are never touched.
def test_a_run_killed_during_its_commit_is_rolled_back_by_the_next(sample):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (make apt installs it)")
    exe = os.path.abspath(os.environ.get("TRAINER", os.path.join(ROOT, ".build/release/trainer")))
    models = sample / "models"

    def digest():
        meta = json.loads((models / "training_metadata.json").read_text())
        for name, h in meta["artifacts"].items():
            assert sha(models / name) == h, name
        return meta["seed"]

    user = models / ".staging-4242"
    rolled_back = 0
    for when in range(1, 40):
        shutil.rmtree(models, ignore_errors=True)
        train(config(sample, seed=1))
        user.mkdir()
        (user / "mine.txt").write_text("the user's")
        cfg = config(sample, seed=2)
        p = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "-e", "trace=rename,renameat,renameat2",
                            "-e", f"inject=rename,renameat,renameat2:signal=KILL:when={when}", exe, "train", "--config", str(cfg)],
                           capture_output=True, text=True)
        if p.returncode == 0:
            assert digest() == 2  # fewer renames than `when`: every kill point has been tried
            break
        staged = [n for n in os.listdir(models) if n.startswith(".staging-") and n != user.name]
        assert staged, p.stderr
        # The next run (incremental: it reads the model) first makes the folder one run's set again,
        # and keeps the user's folder. Against the new model (seed 2) it stops at the seed mismatch.
        train(config(sample, seed=1), "--incremental", check=False)
        # A kill at a rename never lets the metadata (moved last) in, so the previous run is back.
        assert digest() == 1, when
        rolled_back += 1
        assert (user / "mine.txt").read_text() == "the user's"
        left = [n for n in os.listdir(models) if n.startswith(".staging-") and n != user.name]
        assert not left, (when, staged, left, [os.listdir(models / n) for n in left])
        shutil.rmtree(user)
    else:
        pytest.fail("the commit never completed under strace")
    assert rolled_back > 20, rolled_back  # one kill point per artifact moved, set aside or staged
