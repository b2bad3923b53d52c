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
[ -f "$bin" ] && [ -x "$bin" ] || { echo "container-check: $bin is not an executable file" >&2; exit 2; }
bin=$(readlink -f "$bin")

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

# --- clean-up: only the podman objects this script labels or recorded, and its own run files ---------
# Containers go with their anonymous volumes (the image declares /app/models and /app/logs volumes).
# `podman kube play` makes volumes it cannot label (a ConfigMap's, an emptyDir's): kube_play records
# the ones that did not exist before it in $work/kube-volumes.txt, and only those are removed.
cleanup() {
    local ids pod v
    for pod in $(pm pod ps -q --filter "label=$label" 2>/dev/null); do
        ids=$(pm ps -a --filter "pod=$pod" --format '{{.ID}} {{.IsInfra}}' | awk '$2 == "false" {print $1}')
        [ -z "$ids" ] || pm rm -f -v -t 0 $ids > /dev/null 2>&1 || true
        pm pod rm -f "$pod" > /dev/null 2>&1 || true
    done
    ids=$(pm ps -a -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm rm -f -v -t 0 $ids > /dev/null 2>&1 || true
    if [ -f "$work/kube-volumes.txt" ]; then
        while read -r v; do pm volume rm -f "$v" > /dev/null 2>&1 || true; done < "$work/kube-volumes.txt"
        rm -f "$work/kube-volumes.txt"
    fi
    ids=$(pm volume ls -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm volume rm -f $ids > /dev/null 2>&1 || true
    ids=$(pm network ls -q --filter "label=$label" 2>/dev/null || true)
    [ -z "$ids" ] || pm network rm -f $ids > /dev/null 2>&1 || true
}
kube_play() { # podman kube play arguments
    local before after
    before=$(pm volume ls -q | sort)
    pm kube play "$@" > /dev/null
    after=$(pm volume ls -q | sort)
    comm -13 <(echo "$before") <(echo "$after") >> "$work/kube-volumes.txt"
}
mkdir -p "$work"
cleanup
trap cleanup EXIT
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
old_id=$(pm image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
pm build --build-context build="$work/build-context" -f deploy/Dockerfile -t "$image" . 2>&1 | tail -n 5
# The image this check built last time, if the new build replaced it and nothing else names it.
new_id=$(pm image inspect -f '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ] && [ -z "$(pm image inspect -f '{{join .RepoTags ","}}' "$old_id" 2>/dev/null)" ]; then
    pm rmi "$old_id" > /dev/null 2>&1 || true
fi

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

# --- 2. a cluster as deploy/compose.yaml describes it -------------------------------------------------
# Waits until the container's output matches a pattern; fails if it stops first or time runs out.
wait_log() { # CONTAINER PATTERN SECONDS
    local end=$((SECONDS + $3))
    while ! pm logs "$1" 2>&1 | grep -qE "$2"; do
        [ "$(pm inspect -f '{{.State.Running}}' "$1")" = true ] || { pm logs "$1" 2>&1 | tail -n 20; fail "$1 stopped before logging /$2/"; }
        [ $SECONDS -lt $end ] || { pm logs "$1" 2>&1 | tail -n 20; fail "$1 did not log /$2/ within $3 s"; }
        sleep 0.2
    done
}
compose_args() { "$yamlpython" deploy/compose-to-podman.py -f deploy/compose.yaml -f "$cluster/compose.override.yaml" "$@"; }
# Starts a compose service as a container of this check: `podman run -d` with the translated arguments.
start() { # SERVICE CONTAINER [translator options]
    local svc=$1 name=$2; shift 2
    local -a args
    mapfile -t args < <(compose_args "$svc" --container "$name" --secrets-dir "$cluster/secrets" "$@")
    [ ${#args[@]} -gt 0 ] || fail "deploy/compose-to-podman.py gave nothing for $svc"
    pm run -d --label "$label" "${args[@]}" > /dev/null
}

step "2. a cluster as deploy/compose.yaml describes it"
cluster=$run/cluster
mkdir -p "$cluster/secrets" "$cluster/bad-secrets"
# A 50,000-item catalog, so that every shard job lasts long enough to kill a worker in the middle of
# one; mounted over the image's sample, as a user mounts a catalog.
"$bin" synth --items 50000 --seed 7 --out "$cluster/catalog" > /dev/null
cat > "$cluster/compose.override.yaml" <<YAML
services:
  coordinator:
    volumes: ["$cluster/catalog:/app/data/sample:ro"]
YAML
openssl rand -hex 32 > "$cluster/secrets/cluster_token"
openssl rand -hex 32 > "$cluster/bad-secrets/cluster_token"
chown 10001:10001 "$cluster/secrets/cluster_token" "$cluster/bad-secrets/cluster_token"
chmod 0400 "$cluster/secrets/cluster_token" "$cluster/bad-secrets/cluster_token"
project=$("$yamlpython" -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["name"])' deploy/compose.yaml)
pm network create --label "$label" "${project}_default" > /dev/null 2>&1
for v in models logs; do pm volume create --label "$label" "${project}_$v" > /dev/null; done

coord=$project-coordinator-1
start coordinator "$coord"
wait_log "$coord" "coordinator listening" 120
echo "coordinator listening"

# A worker holding another token: refused at the handshake, exits 2, never leased a job.
bad=$project-worker-badtoken
start worker "$bad" --secrets-dir "$cluster/bad-secrets" --restart no
bad_status=$(pm wait "$bad")
bad_host=$(pm inspect -f '{{.Config.Hostname}}' "$bad")
pm logs "$bad" 2>&1 | tail -n 2
[ "$bad_status" = 2 ] || fail "the worker with a wrong token exited with $bad_status, not 2"
pm logs "$coord" 2>&1 | grep -q "worker failed authentication" || fail "the coordinator did not log the failed authentication"

# worker 1 alone, killed while it holds a job; then worker 2.
w1=$project-worker-1
w2=$project-worker-2
start worker "$w1"
w1_host=$(pm inspect -f '{{.Config.Hostname}}' "$w1")
wait_log "$coord" "job leased .*worker=$w1_host-" 120
pm kill "$w1" > /dev/null
echo "killed $w1 while it held a job"
start worker "$w2"
coord_status=$(pm wait "$coord")
pm logs "$coord" > "$cluster/coordinator.log" 2>&1
tail -n 3 "$cluster/coordinator.log"
[ "$coord_status" = 0 ] || fail "the coordinator exited with $coord_status"
grep "worker disconnected mid-job" "$cluster/coordinator.log" | grep -q "worker=$w1_host-" \
    || fail "the coordinator did not see $w1 die in the middle of a job"
! grep -E "job leased|refinement leased|shard done" "$cluster/coordinator.log" | grep -q "$bad_host-" \
    || fail "the worker with a wrong token got a job"
echo "the worker with a wrong token got no job; the killed worker's job went to another"

# The same build on this host, with the same binary, config and catalog: `trainer train --shards S`
# in local mode (two worker processes).
ref=$cluster/reference
mkdir -p "$ref/config" "$ref/data"
cp config/trainer.yml "$ref/config/trainer.yml"
ln -s "$cluster/catalog" "$ref/data/sample"
shards=$(compose_args coordinator --container x --secrets-dir "$cluster/secrets" | sed -n '/^--shards$/{n;p;}')
(cd "$ref" && "$bin" train --config config/trainer.yml --workers 2 --shards "$shards" > stdout 2> stderr) \
    || { tail -n 20 "$ref/stderr"; fail "the local reference build failed"; }
models=$(pm volume inspect -f '{{.Mountpoint}}' "${project}_models")
for f in hnsw_index.bin vectors.npy labels.tsv; do
    cmp "$models/$f" "$ref/models/$f" || fail "$f of the cluster differs from the local build's"
done
sha256sum "$models/hnsw_index.bin" "$ref/models/hnsw_index.bin" | sed "s|$root/||"
echo "cluster index (3 containers, one killed mid-job) = local build: byte-identical"

# --- 3. the Kubernetes manifests under podman kube play ------------------------------------------------
step "3. deploy/k8s/ under podman kube play"
k8s=$run/k8s
mkdir -p "$k8s"
tok() { "$yamlpython" deploy/k8s-to-podman.py --image "$image" --label "$label" --token-file "$k8s/token" "$@"; }
openssl rand -hex 32 > "$k8s/token"
chown 10001:10001 "$k8s/token"
chmod 0400 "$k8s/token"
tok passthrough deploy/k8s/volumes.yaml > "$k8s/volumes.yaml"
tok passthrough deploy/k8s/configmap.yaml > "$k8s/configmap.yaml"
{ cat "$k8s/configmap.yaml"; echo ---; tok pod deploy/k8s/coordinator.yaml trainer-coordinator; } > "$k8s/coordinator.yaml"
{ cat "$k8s/configmap.yaml"
  for i in 0 1; do echo ---; tok pod deploy/k8s/workers.yaml "trainer-workers-$i"; done; } > "$k8s/workers.yaml"
pm network create --label "$label" routing-trainer-k8s > /dev/null 2>&1
kube_play --network routing-trainer-k8s "$k8s/volumes.yaml"
# The catalog PVC holds step 2's 50,000-item catalog, where the ConfigMap's trainer.yml looks for
# it: a build long enough for both worker pods to join.
tar -C "$cluster/catalog" -cf "$k8s/catalog.tar" features.parquet item_metadata.json
pm volume import trainer-data "$k8s/catalog.tar"
# The workers once the coordinator listens (as the Service's readiness probe would have it): the
# build of 50,000 items then outlasts their joining.
kube_play --network routing-trainer-k8s "$k8s/coordinator.yaml"
kc=trainer-coordinator-coordinator
wait_log "$kc" "coordinator listening" 120
kube_play --network routing-trainer-k8s "$k8s/workers.yaml"
kc_status=$(timeout 240 podman --runtime runc wait "$kc") || fail "the coordinator pod did not finish within 240 s"
pm logs "$kc" > "$k8s/coordinator.log" 2>&1
tail -n 3 "$k8s/coordinator.log"
[ "$kc_status" = 0 ] || fail "the coordinator pod exited with $kc_status"
for i in 0 1; do
    ws=$(timeout 60 podman --runtime runc wait "trainer-workers-$i-worker") \
        || { pm logs "trainer-workers-$i-worker" 2>&1 | tail -n 5; fail "worker pod $i did not stop"; }
    [ "$ws" = 0 ] || fail "worker pod $i exited with $ws"
    grep "worker joined" "$k8s/coordinator.log" | grep -q "worker=trainer-workers-$i-" \
        || fail "worker pod $i never joined the coordinator"
done
kmodels=$(pm volume inspect -f '{{.Mountpoint}}' trainer-models)
"$python" - "$kmodels" <<'PY' || fail "hnswlib could not load the Kubernetes build's index"
import sys
import hnswlib, numpy as np
x = np.load(f"{sys.argv[1]}/vectors.npy")
index = hnswlib.Index(space="cosine", dim=x.shape[1])
index.load_index(f"{sys.argv[1]}/hnsw_index.bin")
index.set_ef(100)
labels, _ = index.knn_query(x[:50], k=10)
assert index.get_current_count() == x.shape[0] == 50000, (index.get_current_count(), x.shape)
hits = sum(int(labels[i][0] == i) for i in range(50))
assert hits >= 48, f"only {hits} of 50 rows find themselves first"
print(f"hnswlib loaded the pods' index: {x.shape[0]} x {x.shape[1]}")
PY
echo "coordinator and two worker pods from deploy/k8s/ built the index"

# --- 4. the image: size and packages ------------------------------------------------------------------
step "4. the image's size and packages"
packages() { pm run --rm --label "$label" --entrypoint dpkg-query "$1" -W -f '${Package}\t${Version}\n' | sort; }
packages "$base" > "$run/base-packages.tsv"
packages "$image" > "$run/image-packages.tsv"
deploy/check-runtime-libs.sh --list deploy/Dockerfile > "$run/runtime-list.txt"
mib() { pm image inspect -f '{{.Size}}' "$1" | awk '{printf "%.1f MiB", $1 / 1048576}'; }
echo "image $image: $(mib "$image") (base $base: $(mib "$base"))"
echo "packages added to the base (name, version):"
added=$(comm -13 <(cut -f1 "$run/base-packages.tsv") <(cut -f1 "$run/image-packages.tsv"))
for p in $added; do grep -P "^\Q$p\E\t" "$run/image-packages.tsv" | sed 's/^/  /'; done
echo "all $(wc -l < "$run/image-packages.tsv") packages of the image: $run/image-packages.tsv" | sed "s|$root/||"
extra=$(comm -23 <(echo "$added") <(sort "$run/runtime-list.txt"))
[ -z "$extra" ] || fail "the image installs packages beyond the runtime list: $(echo $extra)"
absent=$(comm -23 <(sort "$run/runtime-list.txt") <(cut -f1 "$run/image-packages.tsv"))
[ -z "$absent" ] || fail "packages of the runtime list missing from the image: $(echo $absent)"
echo "nothing installed beyond the runtime list"
echo "container check: OK (${SECONDS}s)"
