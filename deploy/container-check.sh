#!/bin/bash
# Builds the image from deploy/Dockerfile with podman and runs it for real:
#   1. the default command on the bundled sample, as uid 10001, read-only root, no capabilities;
#      hnswlib loads and searches the index it wrote;
#   2. a coordinator and two workers on a podman network, as deploy/compose.yaml describes them
#      (deploy/compose-to-podman.py turns its services into `podman run` arguments), with a worker
#      killed mid-job and a worker holding a wrong token: the index equals a local `trainer train`;
#   3. the Kubernetes manifests, as far as `podman kube play` runs them (docs/deploy.md says what it
#      does not run);
#   4. the image's size and package list: nothing beyond the base and the runtime stage's list.
# usage: deploy/container-check.sh BINARY
#   BINARY: the static-stdlib release build of trainer (made on this Debian 12 host); it stands in for
#   the Dockerfile's Swift build stage, whose image cannot be pulled here.
# Everything it makes lives in .build-container/ (git ignores it) and in podman objects labelled
# io.routing-trainer.check; only those are ever removed. The base image is kept between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:?usage: $0 BINARY}
[ -x "$bin" ] || { echo "container-check: $bin is not an executable" >&2; exit 2; }

root=$PWD
work=$root/.build-container
export CONTAINERS_CONF=$root/deploy/containers.conf
label=io.routing-trainer.check=container-check
base=docker.io/library/debian:bookworm-slim
image=localhost/routing-trainer:latest
python=${PYTHON_HNSWLIB:-$root/.venv/bin/python}
yamlpython=${PYTHON_YAML:-$root/.venv-deploy/bin/python}
pm() { podman --runtime runc "$@"; }
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }
fail() { echo "container-check FAILED: $*" >&2; exit 1; }

# --- tools, installed only when missing ------------------------------------------------------------
missing=""
for p in podman runc mmdebstrap; do command -v "$p" >/dev/null || missing="$missing $p"; done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# --- clean-up: only the podman objects this script labels, and its own folder's run files -----------
cleanup() {
    local ids
    ids=$(pm ps -a -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm rm -f -t 0 $ids >/dev/null 2>&1 || true
    ids=$(pm pod ps -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm pod rm -f $ids >/dev/null 2>&1 || true
    ids=$(pm volume ls -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm volume rm -f $ids >/dev/null 2>&1 || true
    ids=$(pm network ls -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm network rm -f $ids >/dev/null 2>&1 || true
}
cleanup
trap cleanup EXIT
mkdir -p "$work"
rm -rf "$work/run"
mkdir -p "$work/run"
run=$work/run

# --- base image: Debian 12 minbase from Debian's own packages (no registry needed), kept --------------
step "base image"
if pm image exists "$base"; then
    echo "$base exists: kept"
else
    # The same trimming as the official slim image: no documentation, manuals or translations.
    mmdebstrap --variant=minbase \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/groff/*' \
        --dpkgopt='path-exclude=/usr/share/lintian/*' \
        bookworm "$work/rootfs.tar"
    # The official image's configuration: a PATH and a shell.
    pm import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' "$work/rootfs.tar" "$base"
    rm -f "$work/rootfs.tar"
fi

# --- the image: deploy/Dockerfile, its build stage served by a folder holding the host's binary -------
step "image"
rm -rf "$work/build-context"
mkdir -p "$work/build-context/out"
cp "$bin" "$work/build-context/out/trainer"
pm build --format docker --build-context build="$work/build-context" -f deploy/Dockerfile -t "$image" . 2>&1 | tail -n 5

# --- 1. one container: the image's default command on the bundled sample -----------------------------
step "1. one container: the default command"
single=$run/single
mkdir -p "$single/models" "$single/logs"
chown 10001:10001 "$single/models" "$single/logs"
status=0
pm run --rm --label "$label" --user 10001:10001 --read-only --tmpfs /tmp --cap-drop ALL \
    --security-opt no-new-privileges -v "$single/models:/app/models" -v "$single/logs:/app/logs" \
    "$image" > "$single/stdout" 2> "$single/stderr" || status=$?
tail -n 4 "$single/stdout"
[ "$status" -eq 0 ] || { tail -n 20 "$single/stderr"; fail "the default command exited with $status"; }
ls "$single/logs"/trainer_*.log >/dev/null 2>&1 || fail "no log file in the logs volume"
"$python" - "$single/models" <<'PY' || fail "hnswlib could not load or search the container's index"
import json, sys
import hnswlib, numpy as np
models = sys.argv[1]
x = np.load(f"{models}/vectors.npy")
meta = json.load(open(f"{models}/training_metadata.json"))
space = meta["index"]["space"]
index = hnswlib.Index(space=space, dim=x.shape[1])
index.load_index(f"{models}/hnsw_index.bin")
assert index.get_current_count() == x.shape[0], (index.get_current_count(), x.shape)
index.set_ef(100)
labels, _ = index.knn_query(x[:50], k=10)
hits = sum(int(labels[i][0] == i) for i in range(50))
assert hits >= 48, f"only {hits} of 50 rows find themselves first"
print(f"hnswlib loaded {index.get_current_count()} x {x.shape[1]} ({space}); {hits}/50 rows find themselves first")
PY
