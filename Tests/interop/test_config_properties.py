"""A property test over configurations: seeded random role assignments over the columns of a real
table (palmerpenguins' penguins, features in Parquet, island and year in the JSON metadata) and random
settings. A valid configuration must give the scikit-learn recipe's vectors (≤ 1e-5) and weights; an
invalid one must stop with exit code 2 and a message naming the key, before writing anything."""
import random

import numpy as np
import pytest

from conftest import trainer
from pipeline_reference import Reference, joined_frame
from real_tables import BY_NAME, WRITERS, full_config, write_stage1, yaml_text

TABLE = BY_NAME["penguins"]
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]
CATEGORICAL = ["species", "island", "sex", "year", "flipper_length_mm"]  # text and whole numbers
METADATA_ONLY = {"island", "year"}
CASES = 60

# Invalid settings: (dotted key, value, the key the message must name).
INVALID = [
    ("cleaning.numeric_missing", "drop", "cleaning.numeric_missing"),
    ("cleaning.iqr_k", 0, "cleaning.iqr_k"),
    ("scaling", "zscore", "scaling"),
    ("onehot.max_categories", 1, "onehot.max_categories"),
    ("onehot.min_frequency", 2.5, "onehot.min_frequency"),
    ("target_encoding.cv", 1, "target_encoding.cv"),
    ("target_encoding.smooth", -1, "target_encoding.smooth"),
    ("weighting.default_domain_weight", -0.5, "weighting.default_domain_weight"),
    ("index.M", 1, "index.M"),
    ("features.numerics", ["bill_depth_mm"], "features.numerics"),
    ("weighting.sample_weight_fit", "sometimes", "weighting.sample_weight_fit"),
]


def _set(cfg, key, value):
    node = cfg
    *path, last = key.split(".")
    for p in path:
        node = node.setdefault(p, {})
    node[last] = value


def generate(case):
    """One configuration; returns (cfg, expected error key or None, known defect or None)."""
    r = random.Random(1000 + case)
    numeric = r.sample(NUMERIC, r.randint(0, 3))
    free = [c for c in CATEGORICAL if c not in numeric]
    onehot = r.sample(free, r.randint(0, min(2, len(free))))
    free = [c for c in free if c not in onehot]
    target_encode = r.sample(free, r.randint(0, min(2, len(free))))
    features = {"numeric": numeric, "log_transform": r.sample(numeric, r.randint(0, len(numeric))),
                "onehot": onehot, "target_encode": target_encode}
    defect = None
    if target_encode or r.random() < 0.3:
        # The target: another numeric column, or (a third of the time) one of the numeric features.
        candidates = [c for c in NUMERIC if c not in target_encode and c not in onehot]
        in_numeric = [c for c in candidates if c in numeric]
        if in_numeric and r.random() < 0.33:
            features["target"] = r.choice(in_numeric)
            defect = "issue 12 item 11: the target is also a numeric feature"
        else:
            features["target"] = r.choice([c for c in candidates if c not in numeric] or candidates)
            if features["target"] in numeric:
                defect = "issue 12 item 11: the target is also a numeric feature"
    space = r.choice(["cosine", "ip", "l2"])
    cfg = {
        "seed": r.randint(0, 10_000),
        "features": features,
        "cleaning": {"numeric_missing": r.choice(["median", "mean", "zero"]), "outliers": r.choice(["iqr", "none"]),
                     "iqr_k": r.choice([0.5, 1.5, 3.0])},
        "scaling": r.choice(["standard", "robust", "minmax", "none"]),
        "onehot": {"min_frequency": r.choice([None, 3, 20, 0.05, 0.3]), "max_categories": r.choice([None, 2, 3, 5])},
        "target_encoding": {"smooth": r.choice(["auto", 0, 1.0, 25.0]), "cv": r.choice([2, 3, 5, 10])},
        "weighting": {"item_weight_column": r.choice([None, "body_mass_g", "flipper_length_mm", "year"]),
                      "domain_column": r.choice([None, "species", "island", "sex", "year"]),
                      "domain_weights": r.choice([{}, {"Adelie": 2.0, "Dream": 0.5}, {"2008": 3.0, "female": 1.5}]),
                      "default_domain_weight": r.choice([0.5, 1.0, 2.0]),
                      "sample_weight_fit": r.random() < 0.7,
                      "scale_rows": space != "cosine" and r.random() < 0.5},
        "index": {"space": space, "M": 8, "ef_construction": 32},
        "cluster": {"mode": "single"},
        "export": {"tensorboard": {"metadata_columns": r.sample(["penguin_id", "island", "sex", "year", "species"], r.randint(0, 2))}},
    }
    roles = [cfg["weighting"]["item_weight_column"], cfg["weighting"]["domain_column"]] + cfg["export"]["tensorboard"]["metadata_columns"]
    feature_roles = set(numeric + onehot + target_encode + ([features["target"]] if "target" in features else []))
    passthrough = [c for c in roles if c and c not in feature_roles and c != TABLE.id_column]
    if any(passthrough.count(c) > 1 and c in METADATA_ONLY for c in passthrough):
        defect = defect or "issue 12 item 11: a metadata column in two roles (weighting and projector)"
    error = None
    roll = r.random()
    if not numeric and not onehot and not target_encode:
        error = "features"
    elif roll < 0.3:
        key, value, error = r.choice(INVALID)
        _set(cfg, key, value)
    elif roll < 0.36 and numeric:
        features["log_transform"] = features["log_transform"] + [r.choice([c for c in CATEGORICAL if c not in numeric])]
        error = "features.log_transform"
    elif roll < 0.42 and space == "cosine":
        cfg["weighting"]["scale_rows"] = True
        error = "weighting.scale_rows"
    elif roll < 0.48 and target_encode:
        del features["target"]
        error = "features.target"
    if error and features.get("target") in numeric:
        # Keep the expected error the only problem: the target moves off the numeric features.
        others = [c for c in NUMERIC if c not in numeric + onehot + target_encode]
        if others:
            features["target"] = others[0]
        elif not target_encode:
            del features["target"]
    if error:
        defect = None
    return cfg, error, defect


def _params():
    out = []
    for case in range(CASES):
        _, error, defect = generate(case)
        out.append(pytest.param(case, id=f"case{case:02d}-{'error-' + error if error else 'run'}"))
    return out


@pytest.fixture(scope="module")
def penguins_input(tmp_path_factory):
    """The table written once by each writer; case i reads writer i mod 3's files."""
    out = []
    for writer in WRITERS:
        folder = tmp_path_factory.mktemp(f"penguins-{writer}")
        write_stage1(TABLE, TABLE.load(), folder, writer)
        out.append((folder, joined_frame(folder / "features.parquet", folder / "item_metadata.json", TABLE.id_column)))
    return out


@pytest.mark.parametrize("case", _params())
def test_random_configuration(penguins_input, tmp_path, case):
    folder, frame = penguins_input[case % len(penguins_input)]
    cfg, error, _ = generate(case)
    full = full_config(TABLE, cfg, folder)
    full["export"]["output_dir"] = str(tmp_path / "models")
    full["export"]["log_dir"] = str(tmp_path / "logs")
    (tmp_path / "trainer.yml").write_text(yaml_text(full) + "\n")
    p = trainer("vectorize", "--config", tmp_path / "trainer.yml", check=False)
    if error:
        assert p.returncode == 2, (p.returncode, p.stderr)
        assert f"{error}:" in p.stderr, p.stderr
        assert not (tmp_path / "models").exists()
        return
    assert p.returncode == 0, p.stderr
    want, w = Reference(full).fit_transform(frame)
    ours = np.load(tmp_path / "models" / "vectors.npy")
    assert ours.shape == want.shape, (ours.shape, want.shape)
    diff = np.abs(ours.astype(np.float64) - want)
    assert diff.max(initial=0) <= 1e-5, (diff.max(), np.unravel_index(np.argmax(diff), diff.shape))
    np.testing.assert_allclose(np.load(tmp_path / "models" / "item_weights.npy")[:, 0], w, rtol=1e-6, atol=1e-7)
