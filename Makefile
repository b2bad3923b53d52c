# The two commands of the README: `make run` and `make test`. Both install what they need on a
# fresh Debian machine: apt packages only when missing, Python packages in .venv (pinned).
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

SWIFT ?= swift
PYTHON ?= python3
VENV := .venv
DEPLOY_VENV := .venv-deploy
APT_PACKAGES := build-essential pkg-config python3-venv libsnappy-dev libzstd-dev zlib1g-dev liblz4-dev libbrotli-dev libnng-dev openssl iproute2 chromium strace
TRAINER := .build/release/trainer
STATIC_TRAINER := .build-static/release/trainer

.PHONY: run test deps apt venv build commit-info static-build unit-test interop deploy-check container-check bench bench-cluster bench-scale bench-serve clean \
	sanitize sanitize-thread sanitize-address fuzz fuzz-build

run: build
	$(TRAINER) train --config config/trainer.yml

test: build venv
	@$(MAKE) --no-print-directory unit-test
	$(MAKE) --no-print-directory interop
	$(MAKE) --no-print-directory deploy-check
	$(MAKE) --no-print-directory container-check
	$(MAKE) --no-print-directory sanitize-thread
	$(MAKE) --no-print-directory sanitize-address
	$(MAKE) --no-print-directory fuzz SECONDS=20

deps: apt venv

apt:
	@missing=""
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done
	if [ -n "$$missing" ]; then
		echo "installing:$$missing"
		SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing
	fi

$(VENV)/.installed: requirements-interop.txt
	@$(MAKE) --no-print-directory apt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-interop.txt
	touch $@

venv: $(VENV)/.installed

# The deployment checks' tools live in their own venv: checkov's dependencies are many.
$(DEPLOY_VENV)/.installed: requirements-deploy.txt
	@$(MAKE) --no-print-directory apt
	$(PYTHON) -m venv $(DEPLOY_VENV)
	$(DEPLOY_VENV)/bin/pip install -q --upgrade pip
	$(DEPLOY_VENV)/bin/pip install -q -r requirements-deploy.txt
	touch $@

# The release binary the image ships: the Swift standard library linked in, so the runtime stage
# needs no toolchain.
static-build: apt commit-info
	$(SWIFT) build -c release --static-swift-stdlib --product trainer --scratch-path .build-static

# Static checks of deploy/: the runtime stage's libraries against the static-stdlib binary's ldd,
# hadolint, kubernetes-validate, and checkov (Dockerfile, manifests, and no secret committed).
deploy-check: static-build $(DEPLOY_VENV)/.installed
	deploy/check-runtime-libs.sh $(STATIC_TRAINER) deploy/Dockerfile
	deploy/test-check-runtime-libs.sh $(STATIC_TRAINER)
	$(DEPLOY_VENV)/bin/hadolint deploy/Dockerfile
	$(DEPLOY_VENV)/bin/kubernetes-validate --strict --quiet deploy/k8s/*.yaml
	$(DEPLOY_VENV)/bin/checkov -d deploy --framework dockerfile,kubernetes,secrets --quiet --compact --skip-download

# Builds the image with podman and runs it: one container, a compose cluster, the Kubernetes
# manifests under `podman kube play` (deploy/container-check.sh; docs/deploy.md).
container-check: static-build venv $(DEPLOY_VENV)/.installed
	deploy/container-check.sh $(STATIC_TRAINER)

# The commit the binary reports in training_metadata.json: $(GIT_COMMIT) when set (a build outside
# a git checkout), else this checkout's HEAD, with -dirty when it has uncommitted changes. The file
# is rewritten only when the commit changes, so an unchanged commit rebuilds nothing.
COMMIT_HEADER := Sources/CBuildInfo/generated_commit.h
commit-info:
	@commit="$${GIT_COMMIT:-}"
	if [ -z "$$commit" ]; then
		commit=$$(git rev-parse HEAD 2>/dev/null || echo unknown)
		if [ "$$commit" != unknown ] && [ -n "$$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$$commit-dirty"; fi
	fi
	line="#define TRAINER_GIT_COMMIT \"$$commit\""
	# A build before the header existed did not record it as a dependency: touch the source so it is recompiled.
	[ -f $(COMMIT_HEADER) ] && [ "$$(cat $(COMMIT_HEADER))" = "$$line" ] || { echo "$$line" > $(COMMIT_HEADER); touch Sources/CBuildInfo/build_info.c; }

build: apt commit-info
	$(SWIFT) build -c release

# Tests run in release mode: the recall tests build indexes of 20k vectors.
unit-test: apt commit-info
	$(SWIFT) test -c release -Xswiftc -enable-testing

interop: build venv
	TRAINER=$(abspath $(TRAINER)) $(VENV)/bin/python -m pytest -q Tests/interop

# Sanitizers (docs/reliability.md): the unit tests, a 2-worker local cluster build, a locked build and
# a training run on the sample under ThreadSanitizer (.build-tsan) and AddressSanitizer with
# LeakSanitizer (.build-asan, Tests/sanitize/lsan.supp); any report fails. `make test` runs both.
sanitize: sanitize-thread sanitize-address

sanitize-thread: apt commit-info
	Tests/sanitize/run.sh thread

sanitize-address: apt commit-info
	Tests/sanitize/run.sh address

# Coverage-guided fuzzing (libFuzzer + ASan) of every decoder: `make fuzz SECONDS=N` runs each
# harness for N seconds from its committed corpus (Tests/fuzz; docs/reliability.md).
SECONDS ?= 60
fuzz-build: apt commit-info
	Tests/fuzz/build.sh

fuzz: fuzz-build
	Tests/fuzz/run.sh --seconds $(SECONDS)

bench: build venv
	$(VENV)/bin/python bench/hnsw_vs_hnswlib.py
	$(VENV)/bin/python bench/parquet_read.py

# The cluster build against a single-node build (about 15 minutes on 2 cores).
bench-cluster: build venv
	$(VENV)/bin/python bench/cluster/run.py

# hnswlib serving its own file and ours, 100k and 1M items (about 35 minutes on 2 cores, most of it hnswlib's 1M build).
bench-serve: build venv
	$(VENV)/bin/python bench/serve/run.py

# trainer train end to end at 1M, 3M and 10M synthetic items (about 40 minutes on 2 cores; ITEMS=… to choose).
ITEMS ?= 1000000,3000000,10000000
bench-scale: build venv
	$(VENV)/bin/python bench/scale/run.py --items $(ITEMS)

clean:
	rm -rf .build .build-tsan .build-asan .build-fuzz models logs
