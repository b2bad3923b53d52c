import os, shutil, subprocess
import numpy as np
import pytest
import yaml

ROOT = os.path.join(os.path.dirname(__file__), "../..")

TRAINER = os.environ.get("TRAINER", os.path.join(os.path.dirname(__file__), "../../.build/release/trainer"))


def trainer(*args, check=True):
    """Runs the release trainer binary; returns the completed process."""
    p = subprocess.run([TRAINER, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"trainer {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


def normal(n, d, seed):
    return np.random.default_rng(seed).standard_normal((n, d), dtype=np.float32)


def exact_topk(base, queries, k, space):
    if space == "cosine":
        base = base / np.linalg.norm(base, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    if space == "l2":
        d = (queries ** 2).sum(1)[:, None] - 2 * queries @ base.T + (base ** 2).sum(1)[None, :]
    else:
        d = -(queries @ base.T)
    return np.argsort(d, axis=1, kind="stable")[:, :k]


def recall(found, truth):
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, truth)]))


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture
def sample(tmp_path):
    shutil.copytree(os.path.join(ROOT, "data/sample"), tmp_path / "data/sample")
    return tmp_path


def config(root, **changes):
    """The bundled configuration pointed at `root`, single mode, with dotted-key changes applied."""
    c = yaml.safe_load(open(os.path.join(ROOT, "config/trainer.yml")))
    c["input"]["features"] = str(root / "data/sample/features.parquet")
    c["input"]["item_metadata"] = str(root / "data/sample/item_metadata.json")
    c["export"]["output_dir"] = str(root / "models")
    c["export"]["log_dir"] = str(root / "logs")
    c["cluster"]["mode"] = "single"
    for key, value in changes.items():
        node = c
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        if value is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    path = root / "trainer.yml"
    path.write_text(yaml.safe_dump(c, sort_keys=False))
    return path


DELETE = object()
