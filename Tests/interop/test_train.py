"""`trainer train` on the bundled sample: artifacts, reproducibility, hnswlib, failures."""
import hashlib, json, os, shutil
import hnswlib
import numpy as np
import pytest
from conftest import trainer

ROOT = os.path.join(os.path.dirname(__file__), "../..")


@pytest.fixture
def workdir(tmp_path):
    shutil.copytree(os.path.join(ROOT, "data/sample"), tmp_path / "data/sample")
    text = open(os.path.join(ROOT, "config/trainer.yml")).read().replace("output_dir: models", f"output_dir: {tmp_path}/models")
    text = text.replace("data/sample/", f"{tmp_path}/data/sample/").replace("log_dir: logs", f"log_dir: {tmp_path}/logs")
    (tmp_path / "trainer.yml").write_text(text)
    return tmp_path


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_sample_run_writes_consistent_artifacts(workdir):
    trainer("train", "--config", workdir / "trainer.yml")
    m = workdir / "models"
    meta = json.loads((m / "training_metadata.json").read_text())
    x = np.load(m / "vectors.npy")
    # 3 numeric + process (7 values and missing) + material (8) + 2 target-encoded columns
    assert x.shape == (1000, 21) and meta["vector_dimension"] == 21 and meta["item_count"] == 1000
    assert all(np.var(x[:, j]) > 0 for j in range(x.shape[1]))
    assert "tb_projector/vectors.tsv" in meta["artifacts"]
    for name, digest in meta["artifacts"].items():
        assert sha(m / name) == digest, name
    assert meta["data_version"] and meta["git_commit"] and meta["index"]["M"] == 32
    logs = list((workdir / "logs").glob("trainer_*.log"))
    assert len(logs) == 1
    events = logs[0].read_text().splitlines()
    assert any("run finished" in e and "items=1000" in e for e in events)
    assert any("index built" in e and "M=32" in e and "ef_construction=200" in e for e in events)
    assert sum(meta["index"]["level_histogram"]) == 1000
    labels = (m / "labels.tsv").read_text().splitlines()
    assert len(labels) == 1000 and labels[0] == "0\tITM-0000000"
    index = hnswlib.Index(space="cosine", dim=x.shape[1])
    index.load_index(str(m / "hnsw_index.bin"))
    index.set_ef(100)
    found, _ = index.knn_query(x, k=10)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.argsort(-(xn @ xn.T), axis=1, kind="stable")[:, :10]
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)])
    assert recall >= 0.99, recall
    ours = trainer("query", "--space", "cosine", "--index", m / "hnsw_index.bin", "--vectors", m / "vectors.npy", "-k", 10, "--ef", 100).stdout.splitlines()
    same = np.mean([list(map(int, ours[i].split())) == list(found[i]) for i in range(100)])
    assert same >= 0.99


def test_three_runs_are_byte_identical(workdir):
    digests, similarities = [], []
    for _ in range(3):
        trainer("train", "--config", workdir / "trainer.yml")
        digests.append([sha(workdir / "models" / n) for n in ("hnsw_index.bin", "vectors.npy", "pipeline.json")])
        x = np.load(workdir / "models" / "vectors.npy")
        index = hnswlib.Index(space="cosine", dim=x.shape[1])
        index.load_index(str(workdir / "models" / "hnsw_index.bin"))
        index.set_ef(100)
        _, dist = index.knn_query(x, k=10)
        similarities.append(np.sort((1 - dist).ravel()))
    assert digests[0] == digests[1] == digests[2]
    assert np.array_equal(similarities[0], similarities[1]) and np.array_equal(similarities[1], similarities[2])


def test_failed_run_leaves_previous_artifacts(workdir):
    trainer("train", "--config", workdir / "trainer.yml")
    def snapshot():
        out = {}
        for root, _, files in os.walk(workdir / "models"):
            for f in files:
                out[os.path.relpath(os.path.join(root, f), workdir)] = sha(os.path.join(root, f))
        return out
    before = snapshot()
    assert "models/tb_projector/vectors.tsv" in before
    (workdir / "data/sample/features.parquet").write_bytes(b"PAR1 broken PAR1")
    p = trainer("train", "--config", workdir / "trainer.yml", check=False)
    assert p.returncode == 3 and "features.parquet" in p.stderr
    assert snapshot() == before


def test_tensorboard_serves_the_projector(workdir):
    import socket, subprocess, sys, time, urllib.request
    trainer("train", "--config", workdir / "trainer.yml")
    tb = workdir / "models" / "tb_projector"
    meta = (tb / "metadata.tsv").read_text().splitlines()
    assert meta[0] == "item_id\tname\tindustry\titem_weight" and len(meta) == 1001
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    exe = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    proc = subprocess.Popen([exe, "--logdir", str(tb), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}/data/plugin/projector"
        deadline = time.time() + 90
        while True:
            try:
                runs = json.loads(urllib.request.urlopen(f"{base}/runs", timeout=5).read())
                if runs:
                    break
            except OSError:
                pass
            assert time.time() < deadline, "tensorboard did not come up"
            time.sleep(0.5)
        assert runs == ["."]
        raw = urllib.request.urlopen(f"{base}/tensor?run=.&name=routing_candidates", timeout=30).read()
        served = np.frombuffer(raw, dtype=np.float32)
        x = np.load(workdir / "models" / "vectors.npy")
        assert served.size == x.size and np.array_equal(served.reshape(x.shape), x)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _recall(index_path, vectors, live_labels, dim):
    index = hnswlib.Index(space="cosine", dim=dim)
    index.load_index(str(index_path))
    index.set_ef(100)
    x = vectors[live_labels]
    found, _ = index.knn_query(x, k=10)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    truth = np.asarray(live_labels)[np.argsort(-(xn @ xn.T), axis=1, kind="stable")[:, :10]]
    return np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth)]), found


def test_incremental_update_matches_a_full_rebuild(workdir):
    import pyarrow as pa, pyarrow.parquet as pq
    trainer("train", "--config", workdir / "trainer.yml")
    old_labels = (workdir / "models" / "labels.tsv").read_text().splitlines()
    t = pq.read_table(workdir / "data/sample/features.parquet")
    keep = [i for i in range(t.num_rows) if i % 33 != 0]
    removed = t.num_rows - len(keep)
    changed = t.take(keep)
    cost = changed.column("unit_cost").to_pylist()
    for i in range(0, 500, 10):
        cost[i] = (cost[i] or 1.0) * 3 + 1
    changed = changed.set_column(changed.schema.get_field_index("unit_cost"), "unit_cost", pa.array(cost, pa.float64()))
    extra = t.slice(0, 200).set_column(0, t.schema.field(0), pa.array([f"NEW-{i:04d}" for i in range(200)]))
    changed = changed.cast(t.schema)
    pq.write_table(pa.concat_tables([changed, extra]), workdir / "data/sample/features.parquet")

    trainer("train", "--config", workdir / "trainer.yml", "--incremental")
    m = workdir / "models"
    meta = json.loads((m / "training_metadata.json").read_text())
    assert meta["changes"] == {"added": 200, "updated": 50, "deleted": removed}
    assert meta["parent_model"] and meta["item_count"] == 1000 - removed + 200
    labels = (m / "labels.tsv").read_text().splitlines()
    assert labels[:1000] == old_labels and labels[1000] == "1000\tNEW-0000" and len(labels) == 1200
    state = [line.split("\t") for line in (m / "item_state.tsv").read_text().splitlines()]
    live = [i for i, s in enumerate(state) if s[3] == "0"]
    assert len(live) == 1000 - removed + 200
    x = np.load(m / "vectors.npy")
    r_inc, found = _recall(m / "hnsw_index.bin", x, live, x.shape[1])
    deleted = {i for i, s in enumerate(state) if s[3] == "1"}
    assert not deleted & set(np.asarray(found).ravel().tolist())

    full = (workdir / "trainer.yml").read_text().replace(f"output_dir: {workdir}/models", f"output_dir: {workdir}/full")
    (workdir / "full.yml").write_text(full)
    trainer("train", "--config", workdir / "full.yml")
    y = np.load(workdir / "full" / "vectors.npy")
    r_full, _ = _recall(workdir / "full" / "hnsw_index.bin", y, list(range(len(y))), y.shape[1])
    print(f"recall@10 at ef 100: incremental {r_inc:.4f}, full rebuild {r_full:.4f}")
    assert abs(r_inc - r_full) <= 0.01, (r_inc, r_full)


def test_incremental_refuses_a_changed_config(workdir):
    trainer("train", "--config", workdir / "trainer.yml")
    (workdir / "changed.yml").write_text((workdir / "trainer.yml").read_text().replace("M: 32", "M: 16"))
    p = trainer("train", "--config", workdir / "changed.yml", "--incremental", check=False)
    assert p.returncode == 2 and "index (space, M, ef_construction)" in p.stderr and "full retrain" in p.stderr
    fresh = (workdir / "trainer.yml").read_text().replace(f"output_dir: {workdir}/models", f"output_dir: {workdir}/none")
    (workdir / "fresh.yml").write_text(fresh)
    p = trainer("train", "--config", workdir / "fresh.yml", "--incremental", check=False)
    assert p.returncode == 2 and "no saved model" in p.stderr


@pytest.mark.parametrize("change,code,words", [
    (lambda t: t.replace("features: ", "features: /nope/"), 3, ["/nope/", "cannot open"]),
    (lambda t: t.replace("numeric: [lead_time_days,", "numeric: [no_such_column, lead_time_days,"), 3, ["no_such_column"]),
    (lambda t: t.replace("  features: ", "  feature_table: "), 2, ["input.features: is required"]),
    (lambda t: t.replace("scaling: standard", "scaling: standard\nscailing: robust"), 2, ["scailing: unknown key"]),
])
def test_train_config_and_input_errors(workdir, change, code, words):
    (workdir / "bad.yml").write_text(change((workdir / "trainer.yml").read_text()))
    p = trainer("train", "--config", workdir / "bad.yml", check=False)
    assert p.returncode == code, p.stderr
    for w in words:
        assert w in p.stderr, p.stderr
    assert not (workdir / "models").exists()


@pytest.mark.parametrize("edit,words", [
    (lambda df: df.assign(unit_cost=df.unit_cost.where(df.index != 5, -3.0)), ["unit_cost", "ITM-0000005", "negative"]),
    (lambda df: df.assign(item_id=df.item_id.where(df.index != 9, "ITM-0000001")), ["ITM-0000001", "more than once"]),
    (lambda df: df.assign(lead_time_days=df.lead_time_days.astype(float).where(df.index != 2, float("inf"))), ["lead_time_days", "ITM-0000002"]),
    (lambda df: df.iloc[0:0], ["empty"]),
])
def test_train_data_errors(workdir, edit, words):
    import pandas as pd, pyarrow as pa, pyarrow.parquet as pq
    df = pq.read_table(workdir / "data/sample/features.parquet").to_pandas()
    pq.write_table(pa.Table.from_pandas(edit(df), preserve_index=False), workdir / "data/sample/features.parquet")
    p = trainer("train", "--config", workdir / "trainer.yml", check=False)
    assert p.returncode == 3, p.stderr
    for w in words:
        assert w in p.stderr, p.stderr
    # The problem is said once on the terminal; the log file keeps the event.
    assert sum(w in line for line in p.stderr.splitlines() for w in words[:1]) == 1, p.stderr
    assert "run failed" not in p.stderr and "run failed" in next((workdir / "logs").glob("*.log")).read_text()


def test_unwritable_output_is_a_config_error_before_work_starts(workdir):
    (workdir / "blocked").write_text("a file where the output folder should be")
    text = (workdir / "trainer.yml").read_text().replace(f"output_dir: {workdir}/models", f"output_dir: {workdir}/blocked")
    (workdir / "blocked.yml").write_text(text)
    p = trainer("train", "--config", workdir / "blocked.yml", check=False)
    assert p.returncode == 2 and "export.output_dir" in p.stderr and "is a file, not a folder" in p.stderr, p.stderr
    assert "run started" not in p.stderr and not (workdir / "logs").exists()
    assert (workdir / "blocked").read_text().startswith("a file")


def test_failed_save_restores_every_previous_artifact(workdir):
    """An artifact that cannot be replaced (made immutable with chattr, which even root cannot
    rename) fails the run after other artifacts were already swapped; every one is put back."""
    import subprocess
    trainer("train", "--config", workdir / "trainer.yml")
    m = workdir / "models"
    names = ("hnsw_index.bin", "labels.tsv", "vectors.npy", "pipeline.json", "item_state.tsv", "training_metadata.json")
    before = {n: sha(m / n) for n in names}
    if subprocess.run(["chattr", "+i", str(m / "item_state.tsv")], capture_output=True).returncode != 0:
        pytest.skip("chattr is not available on this filesystem")
    try:
        (workdir / "other.yml").write_text((workdir / "trainer.yml").read_text().replace("seed: 42", "seed: 43"))
        p = trainer("train", "--config", workdir / "other.yml", check=False)
    finally:
        subprocess.run(["chattr", "-i", str(m / "item_state.tsv")])
    assert p.returncode == 1 and "item_state.tsv" in p.stderr and "untouched" in p.stderr, p.stderr
    assert {n: sha(m / n) for n in names} == before
    assert not [f for f in os.listdir(m) if f.startswith(".staging")]


def test_shard_count_follows_the_catalog_by_default(workdir, tmp_path):
    """`cluster.shards` defaults to auto: one shard per 500,000 items, so the 1,000-item sample is
    one shard whatever the worker count, recorded as resolved in `cluster` and as auto in `config`."""
    p = trainer("train", "--config", workdir / "trainer.yml", "--workers", 2)
    meta = json.loads((workdir / "models/training_metadata.json").read_text())
    assert meta["cluster"]["shards"] == 1 and meta["cluster"]["shard_sizes"] == [1000] and meta["config"]["cluster"]["shards"] == "auto"
    # One shard has work for one worker: the second is not started, and the log says why.
    assert meta["cluster"]["workers"] == 1 and list(meta["cluster"]["jobs_per_worker"]) == ["local-1"], meta["cluster"]
    assert "more local workers than shards; starting one per shard" in p.stderr and "workers=2" in p.stderr and "cluster.shards" in p.stderr, p.stderr
    single = (workdir / "models/hnsw_index.bin").read_bytes()
    trainer("train", "--config", workdir / "trainer.yml", "--workers", 1, "--shards", "auto")
    assert (workdir / "models/hnsw_index.bin").read_bytes() == single
    p = trainer("train", "--config", workdir / "trainer.yml", "--workers", 1, "--shards", "0", check=False)
    assert p.returncode == 2 and "--shards" in p.stderr, p.stderr


def test_cluster_training_depends_on_shards_not_workers(workdir):
    """`trainer train` on local worker processes: same bytes for 1 and 3 workers, the shard plan and
    per-worker jobs in the metadata and the log, and hnswlib finds each item first."""
    files = []
    x_dim = 21
    for w in [1, 3]:
        trainer("train", "--config", workdir / "trainer.yml", "--workers", w, "--shards", 4)
        files.append((workdir / "models/hnsw_index.bin").read_bytes())
        meta = json.loads((workdir / "models/training_metadata.json").read_text())
        c = meta["cluster"]
        assert c["mode"] == "local" and c["workers"] == w and c["shards"] == 4 and sum(c["shard_sizes"]) == 1000
        assert max(c["shard_sizes"]) <= 300 and len(c["centroids"]) == 4 * x_dim
        assert sum(c["jobs_per_worker"].values()) == 8 and c["retries"] == 0 and len(c["shard_build_seconds"]) == 4
        # The recorded configuration holds the command line's overrides: re-running it rebuilds this model.
        recorded = meta["config"]["cluster"]
        assert recorded["mode"] == "local" and recorded["workers"] == w and recorded["shards"] == 4, recorded
    assert files[0] == files[1]
    log = next((workdir / "logs").glob("trainer_*.log")).read_text()
    assert "cluster plan" in log and "jobs_per_worker=" in log
    x = np.load(workdir / "models/vectors.npy")
    idx = hnswlib.Index(space="cosine", dim=x.shape[1])
    idx.load_index(str(workdir / "models/hnsw_index.bin"))
    idx.set_ef(100)
    labels, _ = idx.knn_query(x[:200], k=1)
    assert np.mean(labels[:, 0] == np.arange(200)) >= 0.99


def test_cluster_mode_without_a_token_says_which_variable_to_set(workdir):
    text = (workdir / "trainer.yml").read_text().replace("mode: single", "mode: cluster").replace('"tcp://0.0.0.0:7700"', '"tcp://127.0.0.1:7799"')
    (workdir / "trainer.yml").write_text(text)
    env_token = os.environ.pop("TRAINER_CLUSTER_TOKEN", None)
    try:
        p = trainer("train", "--config", workdir / "trainer.yml", check=False)
    finally:
        if env_token is not None:
            os.environ["TRAINER_CLUSTER_TOKEN"] = env_token
    assert p.returncode == 2 and "TRAINER_CLUSTER_TOKEN" in p.stderr
    assert not (workdir / "models/hnsw_index.bin").exists()
