#!/usr/bin/env python3
"""Turns deploy/k8s/ manifests into YAML that `podman kube play` (Debian 12's podman 4.3) runs, for
deploy/container-check.sh. Only what podman cannot run is changed, and every change is listed here:

- a Job becomes a Pod of the Job's own pod template (podman runs no Jobs); `--name` names it, as
  Kubernetes names a Job's pods; the coordinator's Pod takes its Service's name, which the workers
  then resolve on the podman network (podman has no Services);
- the image becomes --image with imagePullPolicy Never (the image is built locally);
- the token Secret volume becomes a hostPath file holding the token key, at the Secret's
  mount path (the check makes the file mode 0400, the manifests' defaultMode):
  podman 4.3's kube play panics on secret volumes (nil pointer in kube.VolumeFromSecret);
- metadata.namespace is dropped (podman has none) and --label is added to every object, so the
  check removes exactly what it made;
- PersistentVolumeClaims and ConfigMaps are passed on with only those two metadata changes.

usage: k8s-to-podman.py --image IMG --label KEY=VALUE [--token-file PATH] pod JOB.yaml POD_NAME
       k8s-to-podman.py --image IMG --label KEY=VALUE passthrough FILE.yaml...
"""
import argparse
import sys

import yaml


def fail(message):
    print(f"k8s-to-podman: {message}", file=sys.stderr)
    sys.exit(2)


def load_all(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [d for d in yaml.safe_load_all(f) if d]
    except (OSError, yaml.YAMLError) as e:
        fail(f"{path}: {e}")


def relabel(meta, label):
    meta.pop("namespace", None)
    key, _, value = label.partition("=")
    meta.setdefault("labels", {})[key] = value


def pod_from_job(job, name, a):
    spec = job["spec"]["template"]["spec"]
    meta = dict(job["spec"]["template"].get("metadata") or {})
    meta["name"] = name
    relabel(meta, a.label)
    for c in spec.get("containers", []):
        c["image"] = a.image
        c["imagePullPolicy"] = "Never"
    for v in spec.get("volumes", []):
        if "secret" in v:
            if not a.token_file:
                fail(f"{name}: volume {v['name']} is a Secret; give --token-file")
            mounts = [m for c in spec["containers"] for m in c.get("volumeMounts", []) if m["name"] == v["name"]]
            # A Secret volume is a folder of its keys; the hostPath is the one key's file.
            for m in mounts:
                m["mountPath"] = m["mountPath"].rstrip("/") + "/token"
            del v["secret"]
            v["hostPath"] = {"path": a.token_file, "type": "File"}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", required=True)
    ap.add_argument("--label", required=True)
    ap.add_argument("--token-file")
    ap.add_argument("verb", choices=["pod", "passthrough"])
    ap.add_argument("args", nargs="+")
    a = ap.parse_args()
    out = []
    if a.verb == "pod":
        if len(a.args) != 2:
            fail("pod takes JOB.yaml POD_NAME")
        jobs = [d for d in load_all(a.args[0]) if d.get("kind") == "Job"]
        if len(jobs) != 1:
            fail(f"{a.args[0]}: expected one Job, found {len(jobs)}")
        out.append(pod_from_job(jobs[0], a.args[1], a))
    else:
        for path in a.args:
            for d in load_all(path):
                if d.get("kind") not in ("PersistentVolumeClaim", "ConfigMap"):
                    fail(f"{path}: {d.get('kind')} is not passed through to podman")
                relabel(d.setdefault("metadata", {}), a.label)
                out.append(d)
    yaml.safe_dump_all(out, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
