"""The deployment's trainer.yml (in the Kubernetes ConfigMap) is a valid configuration."""
import os
from conftest import trainer

ROOT = os.path.join(os.path.dirname(__file__), "../..")


def test_configmap_trainer_yml_is_a_valid_config(tmp_path):
    lines = open(os.path.join(ROOT, "deploy/k8s/configmap.yaml")).read().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "trainer.yml: |") + 1
    body = [l[4:] for l in lines[start:] if l.startswith("    ") or not l.strip()]
    (tmp_path / "trainer.yml").write_text("\n".join(body) + "\n")
    p = trainer("train", "--config", tmp_path / "trainer.yml", check=False)
    # The configuration is accepted; the run stops at the catalog, which only exists in the cluster.
    assert p.returncode == 3, p.stderr
    assert "/app/data/features.parquet" in p.stderr
