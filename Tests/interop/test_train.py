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
    text = text.replace("data/sample/", f"{tmp_path}/data/sample/")
    (tmp_path / "trainer.yml").write_text(text)
    return tmp_path


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_sample_run_writes_consistent_artifacts(workdir):
    trainer("train", "--config", workdir / "trainer.yml")
    m = workdir / "models"
    meta = json.loads((m / "training_metadata.json").read_text())
    x = np.load(m / "vectors.npy")
    assert x.shape == (1000, meta["vectorDimension"]) and meta["itemCount"] == 1000
    assert all(np.var(x[:, j]) > 0 for j in range(x.shape[1]))
    for name, digest in meta["artifacts"].items():
        assert sha(m / name) == digest, name
    assert meta["dataVersion"] and meta["gitCommit"] and meta["index"]["M"] == 32
    assert sum(meta["index"]["levelHistogram"]) == 1000
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
    ours = trainer("query", "--index", m / "hnsw_index.bin", "--vectors", m / "vectors.npy", "-k", 10, "--ef", 100).stdout.splitlines()
    same = np.mean([list(map(int, ours[i].split())) == list(found[i]) for i in range(100)])
    assert same >= 0.99


def test_three_runs_are_byte_identical(workdir):
    digests = []
    for _ in range(3):
        trainer("train", "--config", workdir / "trainer.yml")
        digests.append([sha(workdir / "models" / n) for n in ("hnsw_index.bin", "vectors.npy", "pipeline.json")])
    assert digests[0] == digests[1] == digests[2]


def test_failed_run_leaves_previous_artifacts(workdir):
    trainer("train", "--config", workdir / "trainer.yml")
    before = {n: sha(workdir / "models" / n) for n in os.listdir(workdir / "models")}
    (workdir / "data/sample/features.parquet").write_bytes(b"PAR1 broken PAR1")
    p = trainer("train", "--config", workdir / "trainer.yml", check=False)
    assert p.returncode == 3 and "features.parquet" in p.stderr
    after = {n: sha(workdir / "models" / n) for n in os.listdir(workdir / "models")}
    assert after == before
